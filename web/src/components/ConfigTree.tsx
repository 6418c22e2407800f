/** A JSON-like value as a collapsible tree (native <details>), for configuration and metadata. */

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function Leaf({ value }: { value: unknown }) {
  if (value === null) return <span className="tree__value tree__value--null">null</span>;
  if (typeof value === "string") return <span className="tree__value tree__value--string">"{value}"</span>;
  if (typeof value === "number") return <span className="tree__value tree__value--number">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="tree__value tree__value--bool">{String(value)}</span>;
  return <span className="tree__value">{JSON.stringify(value)}</span>;
}

function Node({ name, value, depth, openDepth }: { name: string; value: unknown; depth: number; openDepth: number }) {
  if (!isObject(value) || Object.keys(value).length === 0) {
    return (
      <li className="tree__leaf">
        <span className="tree__key">{name}</span>
        <span className="tree__sep">: </span>
        {isObject(value) ? (
          <span className="tree__value">{Array.isArray(value) ? "[]" : "{}"}</span>
        ) : (
          <Leaf value={value} />
        )}
      </li>
    );
  }
  const entries = Object.entries(value);
  // Short arrays of scalars read best inline: [64, 64]
  if (Array.isArray(value) && value.length <= 8 && value.every((v) => !isObject(v))) {
    return (
      <li className="tree__leaf">
        <span className="tree__key">{name}</span>
        <span className="tree__sep">: </span>
        <span className="tree__value">{JSON.stringify(value)}</span>
      </li>
    );
  }
  return (
    <li>
      <details open={depth < openDepth}>
        <summary>
          <span className="tree__key">{name}</span>
          <span className="tree__count">{Array.isArray(value) ? `[${value.length}]` : `{${entries.length}}`}</span>
        </summary>
        <ul className="tree">
          {entries.map(([k, v]) => (
            <Node key={k} name={k} value={v} depth={depth + 1} openDepth={openDepth} />
          ))}
        </ul>
      </details>
    </li>
  );
}

export function ConfigTree({
  value,
  emptyText,
  openDepth = 1,
}: {
  value: unknown;
  emptyText: string;
  openDepth?: number;
}) {
  if (!isObject(value) || Object.keys(value).length === 0) return <p className="muted">{emptyText}</p>;
  return (
    <ul className="tree tree--root">
      {Object.entries(value).map(([k, v]) => (
        <Node key={k} name={k} value={v} depth={0} openDepth={openDepth} />
      ))}
    </ul>
  );
}
