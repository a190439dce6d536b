/**
 * The few S3 XML answers we read (ListObjectsV2, CreateMultipartUpload, errors). Their shape is
 * flat and fixed, so a tag scan is enough; values are entity-decoded.
 */
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function decodeXmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

/** Text of every `<tag>…</tag>` in `xml`, in order. */
export function tagValues(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(decodeXmlText(m[1]!));
  return out;
}

export function tagValue(xml: string, tag: string): string | undefined {
  return tagValues(xml, tag)[0];
}

export interface ListedObject {
  key: string;
  size: number;
}

export function parseListObjects(xml: string): { objects: ListedObject[]; next: string | undefined } {
  const objects: ListedObject[] = [];
  for (const block of tagValuesRaw(xml, "Contents")) {
    const key = tagValue(block, "Key");
    if (key !== undefined) objects.push({ key, size: Number(tagValue(block, "Size") ?? 0) });
  }
  const truncated = tagValue(xml, "IsTruncated") === "true";
  return { objects, next: truncated ? tagValue(xml, "NextContinuationToken") : undefined };
}

function tagValuesRaw(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]!);
  return out;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
