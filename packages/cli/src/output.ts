/** Printing: JSON for scripts, aligned text for people. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export function printPairs(pairs: [string, string | number][]): void {
  const w = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}
