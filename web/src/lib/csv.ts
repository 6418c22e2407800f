/**
 * CSV text (RFC 4180 quoting, CRLF line ends) for client-side exports. Pure.
 */

export type CsvCell = string | number | boolean | null | undefined;

/** Cells a spreadsheet would run as a formula get a leading apostrophe; negative numbers do not. */
function neutralise(text: string): string {
  if (/^[=+@\t\r]/.test(text) || (/^-/.test(text) && !/^-[\d.]/.test(text))) return `'${text}`;
  return text;
}

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? neutralise(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  const lines = [header, ...rows].map((row) => row.map(csvCell).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
