// Finds the fenced code blocks of a Markdown file, with the directive comment right above each:
// `<!-- runs with prelude: NAME -->` (the block is a fragment, run inside preludes/NAME) or
// `<!-- file: NAME -->` (a file of a multi-file guide, run by the test that owns that guide).
export interface CodeBlock {
  lang: string; // "" for a plain fence (text, not code)
  code: string;
  line: number; // 1-based line of the opening fence, for failure messages
  prelude?: string;
  file?: string;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const m of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const before = markdown.slice(0, m.index);
    const line = before.split("\n").length;
    const above = before.trimEnd().split("\n").pop() ?? "";
    const prelude = /^<!-- runs with prelude: ([\w-]+) -->$/.exec(above)?.[1];
    const file = /^<!-- file: (\S+) -->$/.exec(above)?.[1];
    blocks.push({ lang: m[1], code: m[2], line, ...(prelude ? { prelude } : {}), ...(file ? { file } : {}) });
  }
  return blocks;
}

/**
 * What a block says it prints: the `// ` comment lines right after a `console.log(` line, with
 * `...` eliding output. Returns the pieces that must appear in order in stdout, compared without
 * whitespace (a comment wraps where the output does not).
 */
export function expectedOutput(code: string): string[][] {
  const lines = code.split("\n");
  const out: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].includes("console.log(")) continue;
    const comment: string[] = [];
    for (let j = i + 1; j < lines.length && /^\s*\/\/ /.test(lines[j]); j++) comment.push(lines[j].replace(/^\s*\/\/ /, ""));
    if (comment.length > 0) out.push(squeeze(comment.join(" ")).split("...").filter(Boolean));
  }
  return out;
}

export const squeeze = (s: string): string => s.replace(/\s+/g, "");

/** True when the pieces appear in `text` in this order (whitespace ignored). */
export function printsInOrder(text: string, pieces: string[]): boolean {
  const t = squeeze(text);
  let at = 0;
  for (const p of pieces) {
    const i = t.indexOf(p, at);
    if (i < 0) return false;
    at = i + p.length;
  }
  return true;
}
