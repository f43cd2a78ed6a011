import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCsv } from '../../test/csv.helper.ts';
import { CSV_COLUMNS, type ExportedOrder, csvHeader, csvRecord, csvText, exportFilename, ndjsonRecord } from './order-export-format.ts';

const order = (overrides: Partial<ExportedOrder> = {}): ExportedOrder => ({
  id: '0b9a4f8e-3d7c-4c1e-9a51-6f2d8e7b1c20',
  created_at: new Date('2026-11-03T08:15:30.250Z'),
  status: 'delivered',
  payment_state: 'captured',
  currency: 'INR',
  subtotal_cents: 59_750,
  delivery_fee_cents: 4_600,
  total_cents: 64_350,
  items: [
    { name: 'Paneer Tikka', quantity: 2, unit_price_cents: 24_900, line_total_cents: 49_800 },
    { name: 'Butter Naan', quantity: 1, unit_price_cents: 9_950, line_total_cents: 9_950 },
  ],
  delivery_address: '12 Marine Drive, Mumbai',
  status_reason: null,
  ...overrides,
});

/** The one record of a CSV holding a header and `o`, as named fields. */
function roundTrip(o: ExportedOrder): Record<string, string> {
  const [header, record, ...rest] = parseCsv(csvHeader() + csvRecord(o));
  assert.deepEqual(header, CSV_COLUMNS);
  assert.equal(rest.length, 0);
  return Object.fromEntries(CSV_COLUMNS.map((name, k) => [name, record![k]!]));
}

describe('order export: CSV', () => {
  it('writes a header row and one CRLF-ended record per order, amounts as bare integers', () => {
    assert.equal(csvHeader(), 'order_id,created_at,status,payment_state,currency,subtotal_cents,delivery_fee_cents,total_cents,item_count,items,delivery_address,status_reason\r\n');
    assert.equal(
      csvRecord(order()),
      '0b9a4f8e-3d7c-4c1e-9a51-6f2d8e7b1c20,2026-11-03T08:15:30.250Z,delivered,captured,INR,59750,4600,64350,3,2 x Paneer Tikka; 1 x Butter Naan,"12 Marine Drive, Mumbai",\r\n',
    );
  });

  it('quotes a field holding a comma, quote, CR or LF, doubling its quotes, and leaves others bare', () => {
    assert.equal(csvText('plain text'), 'plain text');
    assert.equal(csvText('a, b'), '"a, b"');
    assert.equal(csvText('say "hi"'), '"say ""hi"""');
    assert.equal(csvText('line one\nline two'), '"line one\nline two"');
    assert.equal(csvText('line one\r\nline two'), '"line one\r\nline two"');
    assert.equal(csvText(''), '');
  });

  it('makes a cell that a spreadsheet would run as a formula into text with a leading apostrophe', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      const cell = csvText(`${start}HYPERLINK("http://evil.example","x")`);
      const [[parsed]] = parseCsv(`${cell}\r\n`) as [[string]];
      assert.equal(parsed, `'${start}HYPERLINK("http://evil.example","x")`, `a cell starting with ${JSON.stringify(start)}`);
    }
    assert.equal(csvText('=1+2'), "'=1+2");
    assert.equal(csvText('=SUM(A1,A2)'), `"'=SUM(A1,A2)"`);
    // Only the first character counts: text with a formula character inside is left as it is.
    assert.equal(csvText('Flat 3 = top floor'), 'Flat 3 = top floor');
    assert.equal(csvText(" 'quoted"), " 'quoted");
  });

  it('neutralises every text column, dish names and the address included', () => {
    const row = roundTrip(
      order({
        items: [{ name: '=cmd|" /C calc"!A0', quantity: 1, unit_price_cents: 100, line_total_cents: 100 }],
        delivery_address: '@SUM(1+1)*cmd, "Flat 2"\nMumbai',
        status_reason: '-2+3',
      }),
    );
    // The summary starts with the quantity, so a dish name cannot start the cell.
    assert.equal(row.items, '1 x =cmd|" /C calc"!A0');
    assert.equal(row.delivery_address, `'@SUM(1+1)*cmd, "Flat 2"\nMumbai`);
    assert.equal(row.status_reason, "'-2+3");
  });

  it('writes numbers bare, a negative one as a number, and refuses a number that is not an integer', () => {
    assert.equal(roundTrip(order({ total_cents: -500 })).total_cents, '-500');
    assert.throws(() => csvRecord(order({ total_cents: 12.5 })), TypeError);
    assert.throws(() => csvRecord(order({ total_cents: Number.NaN })), TypeError);
  });

  it('gives back any text exactly, but for the apostrophe before a formula character', () => {
    const text = fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', ',', '"', "'", 'a', ' ', 'é', '😀') , maxLength: 30 });
    fc.assert(
      fc.property(text, text, fc.option(text, { nil: null }), (name, address, reason) => {
        const row = roundTrip(order({ items: [{ name, quantity: 1, unit_price_cents: 1, line_total_cents: 1 }], delivery_address: address, status_reason: reason }));
        const shown = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
        assert.equal(row.items, `1 x ${name}`);
        assert.equal(row.delivery_address, shown(address));
        assert.equal(row.status_reason, reason === null ? '' : shown(reason));
      }),
    );
  });
});

describe('order export: NDJSON', () => {
  it('writes one line per order with the items as a list, whatever newlines the text holds', () => {
    const o = order({ delivery_address: 'line\none\u2028two\r\n=x', items: [{ name: 'a\nb', quantity: 2, unit_price_cents: 5, line_total_cents: 10 }] });
    const line = ndjsonRecord(o);
    assert.equal(line.indexOf('\n'), line.length - 1);
    assert.deepEqual(JSON.parse(line), {
      order_id: o.id,
      created_at: '2026-11-03T08:15:30.250Z',
      status: 'delivered',
      payment_state: 'captured',
      currency: 'INR',
      subtotal_cents: 59_750,
      delivery_fee_cents: 4_600,
      total_cents: 64_350,
      item_count: 2,
      items: [{ name: 'a\nb', quantity: 2, unit_price_cents: 5, line_total_cents: 10 }],
      delivery_address: 'line\none\u2028two\r\n=x',
      status_reason: null,
    });
  });
});

describe('order export: file name', () => {
  it('names the restaurant and the window in characters no file system or header minds', () => {
    const name = exportFilename('0b9a4f8e-3d7c-4c1e-9a51-6f2d8e7b1c20', new Date('2026-11-01T00:00:00Z'), new Date('2026-12-01T05:30:00.5Z'), 'csv');
    assert.equal(name, 'orders-0b9a4f8e-3d7c-4c1e-9a51-6f2d8e7b1c20-20261101T000000Z-20261201T053000Z.csv');
    assert.match(name, /^[A-Za-z0-9._-]+$/);
  });
});
