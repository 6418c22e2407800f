"""The base of the run document's open parts (``config``, ``metadata``): typed, yet faithful to what is stored.

Any training script may put its own keys there (``trainyard_client``'s ``config=`` and ``set_metadata``),
and records older than a field's declaration hold whatever was written then. So these models

- keep unknown keys (``extra="allow"``): they load, and dump back unchanged;
- dump only the keys the record holds (no ``null`` for a field never written), so a record read and
  written back, or sent by the API, has exactly its stored shape;
- never refuse a stored record: a value that does not fit its declared type (a script's own meaning of
  ``seed``, say) is kept as an extra key, as it was stored, and the typed field stays unset; this is
  logged at debug level.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

log = logging.getLogger(__name__)


class AsStored(BaseModel):
    model_config = ConfigDict(extra="allow", loc_by_alias=False)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The typed schema (every field optional, further keys allowed) in both modes: the serializer
        # below returns a plain dict, which would otherwise hide the fields from the API's clients.
        return handler(_without_serializer(schema))

    @model_validator(mode="wrap")
    @classmethod
    def _keep_what_does_not_fit(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as err:
            if not isinstance(data, dict):
                raise
            bad = {e["loc"][0] for e in err.errors() if e["loc"]}
            log.debug("%s: keys %s do not fit their declared types; kept as stored", cls.__name__, sorted(bad))
            try:
                model = handler({k: v for k, v in data.items() if k not in bad})
            except ValidationError:  # a rule across fields: keep the whole part as stored
                return cls.model_construct(**data)
            # Kept beside the typed fields, which stay unset (None): an attribute never holds a value of
            # the wrong type, and the record dumps back as stored.
            assert model.__pydantic_extra__ is not None, "extra='allow'"
            for key in bad & set(data):
                model.__pydantic_extra__[key] = data[key]
            return model

    @model_serializer(mode="wrap")
    def _only_what_is_held(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        fields = type(self).model_fields
        held = set(self.model_extra or ()) | self.model_fields_set
        held |= {f.alias for name, f in fields.items() if name in self.model_fields_set and f.alias}
        return self._tidy({k: v for k, v in data.items() if k in held})

    def _tidy(self, data: dict[str, Any]) -> dict[str, Any]:
        """A subclass's last touch to its dumped form."""
        return data


def _without_serializer(schema: Any) -> Any:
    """``schema`` with the model's own serializer removed (it sits below the validator's wrapper)."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if not (k == "serialization" and schema.get("type") == "model")}
    if "schema" in out:
        out["schema"] = _without_serializer(out["schema"])
    return out
