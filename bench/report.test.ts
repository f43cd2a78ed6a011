import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BenchRun,
  type LevelResult,
  formatMarkdownTable,
  formatTable,
  renderSvg,
  round,
  targets,
  toRows,
  updateReadme,
  writeReport,
} from './report.ts';

function level(over: Partial<LevelResult> & Pick<LevelResult, 'scenario' | 'server' | 'connections' | 'rps'>): LevelResult {
  return {
    mode: 'closed',
    p50_ms: 250,
    p99_ms: 600,
    p999_ms: 900,
    errors: {},
    rss_mb: 120,
    cpu_ms_per_request: 0.8,
    db_cpu_ms_per_request: 0.4,
    offered_rps: null,
    loop_delay_p99_ms: over.server === 'dabba' ? 12 : null,
    bound_rps: over.connections / 0.25,
    duration_s: 20,
    ...over,
  };
}

/** Feed peaks dabba 900 / baseline 1000, order 500 / 1000 (fails 0.6×), shed 850 rps at p99 1100 ms. */
function syntheticRun(over: Partial<BenchRun> = {}): BenchRun {
  return {
    started_at: '2025-06-01T14:03:05.123Z',
    quick: false,
    machine: { cpus: 'Test CPU <2.0 GHz> & co', cores: 2, memory_gb: 7.75, node: 'v24.21.0', os: 'linux 6.8', note: 'shared' },
    cpu_shares: [
      { process: 'api', cpu_share: 0.41 },
      { process: 'baseline', cpu_share: 0.12 },
      { process: 'simulators', cpu_share: 0.18 },
      { process: 'load', cpu_share: 0.22 },
      { process: 'postgres', cpu_share: 0.04 },
    ],
    results: [
      level({ scenario: 'feed', server: 'dabba', connections: 10, rps: 38.456, p99_ms: 550 }),
      level({ scenario: 'feed', server: 'baseline', connections: 10, rps: 39.9, p99_ms: 520 }),
      level({ scenario: 'feed', server: 'dabba', connections: 500, rps: 900, rss_mb: 180, errors: { '503': 0, timeout: 3 } }),
      level({ scenario: 'feed', server: 'baseline', connections: 500, rps: 1000, rss_mb: 95 }),
      level({ scenario: 'feed', server: 'dabba', mode: 'open', connections: 500, offered_rps: 400, rps: 399, p99_ms: 700 }),
      level({ scenario: 'feed', server: 'baseline', mode: 'open', connections: 500, offered_rps: 400, rps: 400, p99_ms: 560 }),
      level({ scenario: 'feed', server: 'dabba', mode: 'open', connections: 500, offered_rps: 800, rps: 790, p99_ms: 800 }),
      level({ scenario: 'feed', server: 'baseline', mode: 'open', connections: 500, offered_rps: 800, rps: 800, p99_ms: 600 }),
      level({ scenario: 'order', server: 'dabba', connections: 200, rps: 500 }),
      level({ scenario: 'order', server: 'baseline', connections: 200, rps: 1000 }),
      level({
        scenario: 'shed',
        server: 'dabba',
        mode: 'open',
        connections: 2000,
        offered_rps: 2700,
        rps: 850,
        p99_ms: 1100,
        errors: { '503': 1800, econnreset: 1 },
        shed_share: 0.6789,
      }),
      // no baseline for this sweep level
      level({ scenario: 'sweep', server: 'dabba', connections: 5000, rps: 700, p99_ms: 4000 }),
      level({ scenario: 'sweep', server: 'baseline', connections: 1000, rps: 1100, p99_ms: 1200 }),
      level({ scenario: 'sweep', server: 'dabba', connections: 1000, rps: 950, p99_ms: 1300 }),
    ],
    ...over,
  };
}

describe('toRows', () => {
  const rows = toRows(syntheticRun());

  it('has one row per dabba result, ordered by scenario, mode and level', () => {
    assert.equal(rows.length, 8);
    assert.deepEqual(
      rows.map((r) => `${r.scenario}/${r.mode}/${r.connections}/${r.offered_rps}`),
      [
        'feed/closed/10/null',
        'feed/closed/500/null',
        'feed/open/500/400',
        'feed/open/500/800',
        'order/closed/200/null',
        'shed/open/2000/2700',
        'sweep/closed/1000/null',
        'sweep/closed/5000/null',
      ],
    );
  });

  it('pairs each row with the baseline at the same scenario, mode, connections and offered rate', () => {
    const feed500 = rows.find((r) => r.scenario === 'feed' && r.mode === 'closed' && r.connections === 500)!;
    assert.equal(feed500.baseline_rps, 1000);
    assert.equal(feed500.baseline_rss_mb, 95);
    assert.equal(feed500.baseline_p99_ms, 600);
    assert.equal(feed500.ratio_to_baseline, 0.9);
    assert.equal(feed500.ratio_to_bound, 0.45); // 900 / (500 / 0.25)
    assert.equal(feed500.p99_ratio_to_baseline, null, 'closed-loop rows compare throughput');

    const open800 = rows.find((r) => r.mode === 'open' && r.offered_rps === 800)!;
    assert.equal(open800.baseline_rps, 800);
    assert.equal(open800.baseline_p99_ms, 600);
    assert.equal(open800.p99_ratio_to_baseline, 1.33);
    const open400 = rows.find((r) => r.mode === 'open' && r.offered_rps === 400)!;
    assert.equal(open400.baseline_p99_ms, 560);
    assert.equal(open400.p99_ratio_to_baseline, 1.25);
  });

  it('rounds to about three significant digits', () => {
    const feed10 = rows[0]!;
    assert.equal(feed10.rps, 38.5);
    assert.equal(feed10.ratio_to_baseline, 0.964); // 38.456 / 39.9
    assert.equal(round(0.012345), 0.0123);
    assert.equal(round(1234.56), 1235);
    assert.equal(round(0), 0);
  });

  it('leaves the baseline fields and ratios null where no baseline ran that level', () => {
    const shed = rows.find((r) => r.scenario === 'shed')!;
    const sweep5000 = rows.find((r) => r.scenario === 'sweep' && r.connections === 5000)!;
    for (const r of [shed, sweep5000]) {
      assert.equal(r.baseline_rps, null);
      assert.equal(r.baseline_p99_ms, null);
      assert.equal(r.baseline_rss_mb, null);
      assert.equal(r.ratio_to_baseline, null);
      assert.equal(r.p99_ratio_to_baseline, null);
      assert.equal(typeof r.ratio_to_bound, 'number');
    }
    assert.equal(shed.shed_share, 0.679);
    assert.equal('shed_share' in sweep5000, false);
  });

  it('carries every field latest.json promises', () => {
    for (const key of [
      'scenario', 'mode', 'connections', 'rps', 'p50_ms', 'p99_ms', 'p999_ms', 'errors', 'rss_mb',
      'cpu_ms_per_request', 'offered_rps', 'loop_delay_p99_ms', 'bound_rps', 'ratio_to_bound', 'baseline_rps',
      'baseline_rss_mb', 'baseline_p99_ms', 'ratio_to_baseline', 'p99_ratio_to_baseline',
      'db_cpu_ms_per_request', 'baseline_cpu_ms_per_request', 'baseline_db_cpu_ms_per_request',
    ]) {
      assert.ok(key in rows[0]!, key);
    }
  });

  it('gives a null ratio instead of Infinity when bound or baseline is zero', () => {
    const run = syntheticRun({
      results: [
        level({ scenario: 'feed', server: 'dabba', connections: 10, rps: 5, bound_rps: 0 }),
        level({ scenario: 'feed', server: 'baseline', connections: 10, rps: 0 }),
      ],
    });
    const [row] = toRows(run);
    assert.equal(row!.ratio_to_bound, null);
    assert.equal(row!.ratio_to_baseline, null);
    assert.equal(row!.baseline_rps, 0);
  });
});

describe('targets', () => {
  const byName = (run: BenchRun) => new Map(targets(run).map((t) => [t.name, t]));

  it('evaluates each target on the run', () => {
    const t = byName(syntheticRun());
    assert.equal(t.size, 6);
    assert.equal(t.get('feed peak throughput')!.met, true); // 900 ≥ 0.8 × 1000
    assert.match(t.get('feed peak throughput')!.measured, /900 rps.*1000 rps.*0\.9×/);
    assert.match(t.get('feed peak throughput')!.measured, /timeout:3/);
    assert.equal(t.get('feed p99 at 80% of baseline peak rate')!.met, true); // 800 ≤ 1.5 × 600 at 800 rps
    assert.match(t.get('feed p99 at 80% of baseline peak rate')!.measured, /at 800 rps/);
    assert.equal(t.get('order peak throughput')!.met, false); // 500 < 0.6 × 1000
    assert.equal(t.get('API memory at the highest feed concurrency')!.met, false); // 180 MB > 95 MB
    assert.match(t.get('API memory at the highest feed concurrency')!.measured, /500 conns/);
    assert.equal(t.get('shed goodput')!.met, true); // 850 ≥ 0.9 × 900
    assert.equal(t.get('shed accepted p99')!.met, true); // 1100 ≤ 2 × 550 (feed at 10 conns)
  });

  it('flips on crafted numbers at the edges', () => {
    const run = syntheticRun();
    const find = (pred: (r: LevelResult) => boolean) => run.results.find(pred)!;
    find((r) => r.server === 'dabba' && r.scenario === 'feed' && r.mode === 'closed' && r.connections === 500).rps = 799;
    find((r) => r.server === 'dabba' && r.mode === 'open' && r.offered_rps === 800).p99_ms = 901;
    find((r) => r.server === 'dabba' && r.scenario === 'order').rps = 600;
    find((r) => r.server === 'dabba' && r.scenario === 'shed').p99_ms = 1101;
    const t = byName(run);
    assert.equal(t.get('feed peak throughput')!.met, false);
    assert.equal(t.get('feed p99 at 80% of baseline peak rate')!.met, false);
    assert.equal(t.get('order peak throughput')!.met, true); // exactly 0.6 ×
    assert.equal(t.get('shed goodput')!.met, true); // 850 ≥ 0.9 × 799
    assert.equal(t.get('shed accepted p99')!.met, false);
  });

  it('is null where the run lacks the data', () => {
    const quick = syntheticRun({
      quick: true,
      results: [level({ scenario: 'feed', server: 'dabba', connections: 10, rps: 40 })],
    });
    const t = targets(quick);
    assert.equal(t.length, 6);
    const met = new Map(t.map((x) => [x.name, x.met]));
    assert.equal(met.get('feed peak throughput'), null);
    assert.equal(met.get('feed p99 at 80% of baseline peak rate'), null);
    assert.equal(met.get('order peak throughput'), null);
    assert.equal(met.get('API memory at the highest feed concurrency'), null);
    assert.equal(met.get('shed goodput'), null);
    assert.equal(met.get('shed accepted p99'), null);
    for (const x of t) assert.ok(x.measured.length > 0);
  });
});

/** Checks that every tag closes in order (enough for the SVG we build, which has no CDATA or comments). */
function assertBalanced(xml: string) {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  // no stray markup: every < starts a tag we matched
  const tags = xml.match(/</g)?.length ?? 0;
  const matched = [...xml.matchAll(/<\/?[a-zA-Z][\w:-]*(?:\s+[\w:-]+="[^"<]*")*\s*\/?>/g)].length;
  assert.equal(matched, tags, 'a < that does not start a well-formed tag');
}

describe('renderSvg', () => {
  it('draws both series in a well-formed standalone SVG', () => {
    const svg = renderSvg(syntheticRun());
    assert.ok(svg.startsWith('<svg'));
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    assert.match(svg, /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /feed: throughput and p99 against concurrency/);
    assert.match(svg, /class="series series-dabba"/);
    assert.match(svg, /class="series series-baseline"/);
    assert.match(svg, />dabba</);
    assert.match(svg, />baseline</);
    assert.match(svg, /dabba, 5000 connections: 700 rps/);
    assert.match(svg, /baseline, 1000 connections: 1200 ms/);
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
    assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external assets');
    assert.match(svg, /Test CPU &lt;2\.0 GHz&gt; &amp; co/, 'text is escaped');
    assertBalanced(svg);
  });

  it('copes with an empty run and with bad numbers', () => {
    const empty = renderSvg(syntheticRun({ results: [] }));
    assert.doesNotMatch(empty, /NaN|Infinity/);
    assert.match(empty, /no data/);
    assertBalanced(empty);
    const odd = renderSvg(
      syntheticRun({
        results: [
          level({ scenario: 'sweep', server: 'dabba', connections: 10, rps: Number.NaN, p99_ms: Number.POSITIVE_INFINITY }),
          level({ scenario: 'sweep', server: 'baseline', connections: 10, rps: 0, p99_ms: 0 }),
        ],
      }),
    );
    assert.doesNotMatch(odd, /NaN|Infinity/);
    assertBalanced(odd);
  });
});

describe('formatTable', () => {
  const run = syntheticRun();

  it('has a line per dabba row, with the baseline folded in', () => {
    const lines = formatTable(run).split('\n');
    assert.equal(lines.length, 2 + toRows(run).length);
    for (const h of ['scenario', 'mode', 'conns', 'offered', 'rps', 'p50', 'p99', 'p99.9', 'errors', 'rss MB', 'cpu ms/req', 'loop p99', 'bound', '×bound', 'baseline rps', '×baseline']) {
      assert.ok(lines[0]!.includes(h), h);
    }
    const body = lines.slice(2);
    for (const row of toRows(run)) {
      const found = body.filter((l) => {
        const cells = l.trim().split(/\s+/);
        return cells[0] === row.scenario && cells[1] === row.mode && cells[2] === String(row.connections) &&
          cells[3] === (row.offered_rps === null ? '—' : String(row.offered_rps));
      });
      assert.equal(found.length, 1, `${row.scenario} ${row.mode} ${row.connections} ${row.offered_rps}`);
    }
    assert.ok(body.some((l) => l.includes('503:1800 econnreset:1')));
    assert.ok(body.some((l) => l.includes('timeout:3') && !l.includes('503:0')));
    // fixed width: right-aligned columns end under their header
    for (const header of ['conns', 'rss MB', '×bound']) {
      const end = lines[0]!.indexOf(header) + header.length - 1;
      for (const l of body) assert.match(l[end] ?? '', /[\d—]/, `${header} in ${l}`);
    }
  });

  it('has a Markdown variant with the same rows', () => {
    const md = formatMarkdownTable(run).split('\n');
    assert.equal(md.length, 2 + toRows(run).length);
    assert.match(md[0]!, /^\| scenario \| mode \| conns \|/);
    assert.match(md[1]!, /^\|:---\|:---\|---:\|/);
    const columns = md[0]!.split(' | ').length;
    for (const line of md.slice(2)) assert.equal(line.split(' | ').length, columns);
  });
});

describe('writing results', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dabba-report-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes latest.json, a dated copy and the SVG, creating the directory', async () => {
    const out = path.join(dir, 'results', 'nested');
    const files = await writeReport(syntheticRun(), out);
    assert.equal(files.latest, path.join(out, 'latest.json'));
    assert.equal(files.dated, path.join(out, '2025-06-01T14-03-05.json'));
    assert.equal(files.svg, path.join(out, 'feed-concurrency.svg'));
    assert.deepEqual((await readdir(out)).sort(), ['2025-06-01T14-03-05.json', 'feed-concurrency.svg', 'latest.json']);
    const latest = JSON.parse(await readFile(files.latest, 'utf8'));
    assert.deepEqual(Object.keys(latest), ['started_at', 'quick', 'machine', 'cpu_shares', 'targets', 'rows']);
    assert.equal(latest.rows.length, 8);
    assert.equal(latest.targets.length, 6);
    assert.equal(await readFile(files.dated, 'utf8'), await readFile(files.latest, 'utf8'));
    assert.ok((await readFile(files.svg, 'utf8')).startsWith('<svg'));
  });

  const README = [
    '# Benchmark',
    '',
    'Intro with $& and $1 that must survive.',
    '',
    '<!-- bench:results:start -->',
    'No full run recorded yet.',
    '<!-- bench:results:end -->',
    '',
    '## Findings',
    '',
    'Hand-written findings.',
    '',
  ].join('\n');

  it('replaces only the text between the results markers', async () => {
    const file = path.join(dir, 'README.md');
    await writeFile(file, README);
    assert.equal(await updateReadme(syntheticRun(), file), true);
    const text = await readFile(file, 'utf8');
    const [head, rest] = text.split('<!-- bench:results:start -->');
    const [middle, tail] = rest!.split('<!-- bench:results:end -->');
    assert.equal(head, README.split('<!-- bench:results:start -->')[0]);
    assert.equal(tail, README.split('<!-- bench:results:end -->')[1]);
    assert.doesNotMatch(middle!, /No full run recorded yet/);
    assert.match(middle!, /2025-06-01 14:03 UTC, full run/);
    assert.match(middle!, /Test CPU <2\.0 GHz> & co \(2 cores\), 7\.75 GB RAM, Node v24\.21\.0, linux 6\.8/);
    assert.match(middle!, /api 41%, baseline 12%, simulators 18%, load 22%, postgres 4%/);
    assert.ok(middle!.includes(formatMarkdownTable(syntheticRun())));
    assert.match(middle!, /\| order peak throughput \| .* \| ❌ \|/);
    assert.match(middle!, /\| feed peak throughput \| .* \| ✅ \|/);
    assert.ok(middle!.includes('![feed: throughput and p99 against concurrency](results/feed-concurrency.svg)'));

    // a second run replaces the first rather than stacking
    assert.equal(await updateReadme(syntheticRun({ started_at: '2025-07-02T08:00:00Z' }), file), true);
    const again = await readFile(file, 'utf8');
    assert.equal(again.split('<!-- bench:results:start -->').length, 2);
    assert.match(again, /2025-07-02 08:00 UTC/);
    assert.doesNotMatch(again, /2025-06-01 14:03 UTC/);
  });

  it('leaves the README alone on quick runs', async () => {
    const file = path.join(dir, 'README-quick.md');
    await writeFile(file, README);
    assert.equal(await updateReadme(syntheticRun({ quick: true }), file), false);
    assert.equal(await readFile(file, 'utf8'), README);
  });

  it('refuses a README without the markers', async () => {
    const file = path.join(dir, 'README-nomarkers.md');
    await writeFile(file, '# Benchmark\n');
    await assert.rejects(updateReadme(syntheticRun(), file), /markers/);
    assert.equal(await readFile(file, 'utf8'), '# Benchmark\n');
  });

  it('marks targets without data with a dash', async () => {
    const file = path.join(dir, 'README-partial.md');
    await writeFile(file, README);
    await updateReadme(syntheticRun({ results: [level({ scenario: 'feed', server: 'dabba', connections: 10, rps: 40 })] }), file);
    assert.match(await readFile(file, 'utf8'), /\| shed goodput \| .* \| — \|/);
  });
});
