/**
 * Flattening nested run configurations into dotted keys and finding the keys whose values differ
 * between runs, for the comparison view's "Configuration differences" table. Pure.
 */

export type ConfigValue = unknown;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `{a: {b: 1}, c: [1, 2]}` → `{"a.b": 1, "c": [1, 2]}`. Arrays and empty objects are leaves. */
export function flattenConfig(config: unknown, prefix = ""): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  if (!isPlainObject(config)) {
    if (prefix) out[prefix] = config;
    return out;
  }
  const keys = Object.keys(config);
  if (keys.length === 0 && prefix) {
    out[prefix] = {};
    return out;
  }
  for (const key of keys) {
    const path = prefix ? `${prefix}.${key}` : key;
    const value = config[key];
    if (isPlainObject(value) && Object.keys(value).length > 0) Object.assign(out, flattenConfig(value, path));
    else out[path] = value;
  }
  return out;
}

/** Order-insensitive for object keys, so `{a:1,b:2}` equals `{b:2,a:1}`. */
function canonical(value: ConfigValue): string {
  if (value === undefined) return "\u0000missing";
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

export interface ConfigDiffRow {
  key: string;
  /** One value per run, `undefined` where the run's config lacks the key. */
  values: ConfigValue[];
}

/** Dotted keys (sorted) whose values are not the same in every config. */
export function diffConfigs(configs: readonly unknown[]): ConfigDiffRow[] {
  const flat = configs.map((c) => flattenConfig(c));
  const keys = new Set<string>();
  for (const f of flat) for (const k of Object.keys(f)) keys.add(k);
  const rows: ConfigDiffRow[] = [];
  for (const key of [...keys].sort()) {
    const values = flat.map((f) => (Object.hasOwn(f, key) ? f[key] : undefined));
    const first = canonical(values[0]);
    if (values.some((v) => canonical(v) !== first)) rows.push({ key, values });
  }
  return rows;
}

/** Display text for a config value (`—` when absent). */
export function formatConfigValue(value: ConfigValue): string {
  if (value === undefined) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
