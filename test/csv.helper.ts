/**
 * A strict RFC 4180 reader for checking what dabba writes: records end with CRLF (the last one too),
 * a quoted field may hold commas, CRLF and doubled quotes, an unquoted one none of them. Anything
 * else (a bare LF, a stray quote, a missing final CRLF) is an error, so a test catches it.
 * @see https://www.rfc-editor.org/rfc/rfc4180#section-2
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  const fail = (why: string) => {
    throw new Error(`not RFC 4180 at offset ${i}: ${why} (${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))})`);
  };
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) fail('a quoted field is not closed');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') fail('a quote or line feed in an unquoted field');
        field += text[i++];
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') {
      i += 2;
      records.push(record);
      record = [];
      continue;
    }
    fail('a field is not followed by a comma or CRLF');
  }
  if (record.length > 0) fail('the last record does not end with CRLF');
  return records;
}

/** Records as objects keyed by the header row's names. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error('no header row');
  return rows.map((r) => {
    if (r.length !== header.length) throw new Error(`a record of ${r.length} fields under a header of ${header.length}`);
    return Object.fromEntries(header.map((name, k) => [name, r[k]!]));
  });
}
