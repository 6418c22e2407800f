import { describe, expect, it } from "vitest";
import { csvCell, toCsv } from "./csv";

describe("csv", () => {
  it("quotes cells with commas, quotes and newlines", () => {
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell("plain")).toBe("plain");
  });

  it("writes empty cells for null and undefined, numbers as is", () => {
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
    expect(csvCell(-1.5)).toBe("-1.5");
    expect(csvCell(false)).toBe("false");
  });

  it("neutralises spreadsheet formulas but not negative numbers in text", () => {
    expect(csvCell("=SUM(A1)")).toBe("'=SUM(A1)");
    expect(csvCell("@cmd")).toBe("'@cmd");
    expect(csvCell("-3.20 avg reward")).toBe("-3.20 avg reward");
    expect(csvCell("-rm")).toBe("'-rm");
  });

  it("builds header and rows with CRLF line ends", () => {
    expect(
      toCsv(
        ["a", "b"],
        [
          [1, "x"],
          [null, "y,z"],
        ],
      ),
    ).toBe('a,b\r\n1,x\r\n,"y,z"\r\n');
  });
});
