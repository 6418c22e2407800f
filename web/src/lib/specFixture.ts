/** A metric declaration for unit tests: the served defaults, overridden by ``extra``. */
import type { MetricSpec } from "../api/types";

export const spec = (name: string, extra: Partial<MetricSpec> = {}): MetricSpec => ({
  name,
  type: "float",
  unit: "",
  description: "",
  aggregation: "mean",
  builtin: true,
  chart: true,
  title: "",
  ...extra,
});
