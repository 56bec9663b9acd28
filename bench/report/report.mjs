// The benchmark's report: its tables, the targets judged, and the chart, all from one run's
// results (bench/results/results.json), so a report can be made again without measuring
// again: `node bench/report/report.mjs` rewrites results.md, latency.svg and docs/benchmarks.md from
// the results.json there. run.mjs calls writeReport() at the end of a run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MODES, ONE_CPU, sizeLabel } from '../protocol/labels.mjs';
import { chart } from './chart.mjs';
import { functionReport } from '../suites/functions.mjs';
import { BUDGET_MS, ROUNDS, SIZES, roundsFor, summarize } from '../protocol/measure.mjs';
import { backendLabel, sameP99Ratios } from '../suites/service.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const DOCS_DIR = path.join(ROOT, 'docs');

// ---- formatting -----------------------------------------------------------------------------
const us = (v) =>
  v >= 1e5 ? v.toExponential(2) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const signedUs = (v) => (v < 0 ? `−${us(-v)}` : us(v));
const perSecond = (v) => {
  const n = 1e6 / v;
  return n >= 1e6
    ? `${(n / 1e6).toFixed(2)}M`
    : n >= 1e3
      ? `${(n / 1e3).toFixed(1)}k`
      : n.toFixed(1);
};
/**
 * a / b, paired by round: the median over rounds of (a's median / b's median in that round).
 * Both were measured moments apart in each round, so the machine's drift over the run cancels.
 */
function ratio(a, b) {
  if (!a || !b) return undefined;
  const rounds = a.roundMediansUs.map((m, r) => m / b.roundMediansUs[r]).filter(Number.isFinite);
  return rounds.length ? summarize(rounds).medianUs : undefined;
}
const fmtRatio = (r) =>
  r === undefined ? '–' : r >= 100 ? `${r.toFixed(0)}x` : `${r.toFixed(2)}x`;

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cols) => `| ${cols.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** The tables, the targets and the chart of one run (what results.json holds). */
export function renderReport({ machine, results: all, ...extra }) {
  const find = (mode, size) => all.find((r) => r.mode === mode && r.size === size);

  const latencyRows = [];
  for (const size of SIZES) {
    for (const mode of Object.keys(MODES)) {
      const r = find(mode, size);
      // The "less the function's own time" modes are not a call's latency: their own table.
      if (r && !mode.endsWith('_excess'))
        latencyRows.push([
          sizeLabel(size),
          MODES[mode],
          us(r.medianUs),
          perSecond(r.medianUs),
          `${us(r.minUs)}–${us(r.maxUs)}`,
          r.samples,
        ]);
    }
  }
  const ratioRows = SIZES.map((size) => {
    const overheadRef = find('inproc_trivial', size);
    return [
      sizeLabel(size),
      fmtRatio(ratio(find('grpc', size), find('inproc', size))),
      fmtRatio(ratio(find('grpc_repeated', size), find('inproc', size))),
      fmtRatio(ratio(find('grpc_trivial', size), overheadRef)),
      fmtRatio(ratio(find('inproc', size), find('python', size))),
      fmtRatio(ratio(find('ncp', size), find('inproc', size))),
      fmtRatio(ratio(find('inproc_notune', size), find('inproc', size))),
    ];
  });

  // The issue's targets, checked against this run.
  const trivialSizes = SIZES.map((s) => find('inproc_trivial', s)).filter(Boolean);
  const overheadMax = Math.max(...trivialSizes.map((r) => r.medianUs));
  const overheadMin = Math.min(...trivialSizes.map((r) => r.medianUs));
  const grpcOverhead = ratio(find('grpc_trivial', 0), find('inproc_trivial', 0));
  const endToEnd1k = ratio(find('grpc', 1000), find('inproc', 1000));
  const vsPython = SIZES.filter((s) => s >= 1000)
    .map((s) => [s, ratio(find('inproc', s), find('python', s))])
    .filter(([, r]) => r !== undefined);
  // One-at-a-time detectAsync overhead against one fs.promises.stat round trip measured in the
  // same rounds. Two figures, each paired by round: detectAsync - detect, and the same less each
  // call's own time inside the Python function (timed_detect.py), which is what the hop costs.
  // The second is judged: at 1M values the function's own time moves by ±0.3-0.9 ms per round
  // with the vCPU that runs it (up to ~20% apart on this VM; within ~2% on one vCPU), and the
  // first then reads anything from -0.9 to +0.8 ms for a hop of tens of microseconds.
  // `prefix` '' is the default; 'll_' the family that runs the low-latency mode.
  const hopRows = (prefix) =>
    SIZES.filter((s) => find(`${prefix}async`, s) && find(`${prefix}stat`, s)).map((size) => {
      const a = find(`${prefix}async`, size).roundMediansUs;
      const d = find(`${prefix}inproc`, size)?.roundMediansUs;
      const st = find(`${prefix}stat`, size).roundMediansUs;
      const diffs = d ? a.map((v, r) => v - d[r]) : undefined;
      const ax = find(`${prefix}async_excess`, size)?.roundMediansUs;
      const sx = find(`${prefix}sync_excess`, size)?.roundMediansUs;
      const hopDiffs = ax && sx ? ax.map((v, r) => v - sx[r]) : undefined;
      const judged = hopDiffs ?? diffs;
      return {
        size,
        overheadUs: diffs ? summarize(diffs).medianUs : undefined,
        hopUs: hopDiffs ? summarize(hopDiffs).medianUs : undefined,
        statUs: find(`${prefix}stat`, size).medianUs,
        perStat: summarize(judged.map((v, r) => v / st[r])).medianUs,
        // The whole detectAsync against node-calls-python's async call of the same function.
        perNcpAsync:
          prefix === '' ? ratio(find('async', size), find('ncp_async', size)) : undefined,
        roundDiffsUs: diffs,
        hopRoundDiffsUs: hopDiffs,
      };
    });
  const overheadRows = hopRows('');
  const lowLatencyHopRows = hopRows('ll_');
  extra.asyncOverhead = overheadRows;
  extra.lowLatencyHop = lowLatencyHopRows;
  const targets = [
    [
      `in-process call overhead < 1 µs at every size`,
      overheadMax < 1,
      `${us(overheadMin)}–${us(overheadMax)} µs`,
    ],
    [
      `... and the same at every size (zero copy): trivial call on ${sizeLabel(extra.zeroCopy.bigSize)} / on 1 value, paired, < 1.2`,
      extra.zeroCopy.ratio < 1.2,
      `${extra.zeroCopy.ratio.toFixed(2)}x`,
    ],
    [`gRPC / in-process call overhead >= 1000x`, grpcOverhead >= 1000, fmtRatio(grpcOverhead)],
    [`gRPC / in-process end to end at 1k >= 40x`, endToEnd1k >= 40, fmtRatio(endToEnd1k)],
    ...[1000]
      .filter((s) => find('remote', s) && find('grpc_repeated', s))
      .map((s) => {
        // RemoteOutliers's default path (the Functions service, the `remote` row) against its
        // `encoding: 'repeated-double'`. 5%: the noise between two rows of one run at this size.
        const r = ratio(find('remote', s), find('grpc_repeated', s));
        return [
          `RemoteOutliers / its repeated-double encoding at ${sizeLabel(s)} <= 1.05 (no slower)`,
          r <= 1.05,
          fmtRatio(r),
        ];
      }),
    ...vsPython.map(([s, r]) => [
      `in-process / plain Python at ${sizeLabel(s)} <= 1.10`,
      r <= 1.1,
      fmtRatio(r),
    ]),
  ];
  // The default hop is judged against what users compare it with, node-calls-python's async
  // call of the same function (both hop to another thread and back; up to 1k, where the hop is
  // what a call costs); the low-latency mode, which polls to save the two wake-ups, against a
  // libuv-pool round trip (fs.promises.stat) beside it. At 1M and 10M, where a wake-up is small
  // beside the call, the default hop as a share of the call.
  for (const row of overheadRows) {
    const hop = row.hopUs ?? row.overheadUs;
    const label = `detectAsync - detect${row.hopUs !== undefined ? ", less the function's own time," : ''} at ${sizeLabel(row.size)}`;
    if (row.size <= 1000 && row.perNcpAsync !== undefined) {
      targets.push([
        `detectAsync / node-calls-python's async call at ${sizeLabel(row.size)} <= 1.0`,
        row.perNcpAsync <= 1,
        fmtRatio(row.perNcpAsync),
      ]);
    } else if (row.size >= 1_000_000) {
      const share = hop / find('inproc', row.size).medianUs;
      targets.push([
        `${label} <= 1% of the call`,
        share <= 0.01,
        `${us(hop)} µs, ${(share * 100).toFixed(2)}%`,
      ]);
    }
  }
  for (const row of lowLatencyHopRows) {
    targets.push([
      `low-latency mode: detectAsync - detect, less the function's own time, at ${sizeLabel(row.size)} <= one fs.promises.stat round trip`,
      row.perStat <= 1,
      `${us(row.hopUs ?? 0)} µs, ${row.perStat.toFixed(2)}x a stat`,
    ]);
  }
  if (extra.idleCpu) {
    const { ms, cpuMs } = extra.idleCpu;
    targets.push([
      `no CPU while idle: the process's CPU time over ${ms / 1000} s of idle after a burst < 1% of a core`,
      cpuMs < ms / 100,
      `${cpuMs.toFixed(1)} ms`,
    ]);
  }
  // With the default thread count (what a process without PY_OUTLIERS_THREADS runs): no loss
  // at 1k against one thread, and where the default is 2 or more, numpy's GIL-free loops
  // overlapping at 1M.
  const threadRow = (size) => extra.threads?.rows.find((r) => r.size === size);
  const defaultThreads = extra.runtime?.pythonThreads;
  if (threadRow(1000) && defaultThreads) {
    const r = defaultThreads === 1 ? 1 : threadRow(1000).ratioTo1[defaultThreads];
    targets.push([
      `detectAsync throughput at 1k, 8 in flight, the default ${defaultThreads} thread(s) / 1 >= 0.95x (noise margin)`,
      r >= 0.95,
      fmtRatio(r),
    ]);
  }
  if (threadRow(1_000_000) && defaultThreads > 1) {
    targets.push([
      `detectAsync throughput at 1M, 8 in flight, the default ${defaultThreads} threads / 1 >= 1.4x`,
      threadRow(1_000_000).ratioTo1[defaultThreads] >= 1.4,
      fmtRatio(threadRow(1_000_000).ratioTo1[defaultThreads]),
    ]);
  }
  if (extra.throughput) {
    targets.push([
      `detectAsync throughput at 1k, 64 in flight >= 80% of sync`,
      extra.throughput.ratio >= 0.8,
      `${(extra.throughput.ratio * 100).toFixed(0)}%`,
    ]);
  }

  const sections = [];
  sections.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}, Python ${machine.python}, numpy ${machine.numpy}; malloc tuning ${machine.mallocTuning ? 'on' : 'off'}${machine.quick ? '; QUICK run (BENCH_QUICK=1): few samples, not for quoting' : ''}.`,
  );
  sections.push(
    `Latency per call: median of all samples from ${ROUNDS} interleaved rounds (10M: ${roundsFor(1e7)}) (a sample is a ~1 ms batch mean for fast calls). 0* = call overhead: a trivial function on a 1-value input (an empty input never reaches Python).\n\n${table(['size', 'mode', 'median µs', 'calls/s', 'min–max µs', 'samples'], latencyRows)}`,
  );
  sections.push(
    'Plain Python runs with the same malloc thresholds as the addon (the floor: the cost of the work itself); "default malloc" shows what glibc\'s defaults cost it.',
  );
  sections.push(
    `Ratios, paired by round (the median over the rounds (${ROUNDS}, 10M: ${roundsFor(1e7)}) of the ratio of the two medians in that round, which cancels the machine's drift; > 1 means the first is slower):\n\n${table(['size', 'gRPC raw / in-process', 'gRPC repeated double / in-process', 'gRPC / in-process, call overhead', 'in-process / plain Python', 'node-calls-python / in-process', 'malloc tuning off / on'], ratioRows)}`,
  );
  if (extra.eventLoop) {
    sections.push(
      `Event-loop delay while calls run (monitorEventLoopDelay, 1 ms resolution):\n\n${table(
        ['stream', 'calls', 'p50 ms', 'p99 ms', 'max ms'],
        extra.eventLoop.map((e) => [
          e.label,
          e.calls,
          e.p50Ms.toFixed(2),
          e.p99Ms.toFixed(2),
          e.maxMs.toFixed(2),
        ]),
      )}`,
    );
  }
  if (extra.messageWaits) {
    const w = extra.messageWaits;
    const orDash = (x) => (x === undefined ? '–' : us(x));
    sections.push(
      `libuv's clock counts whole milliseconds, so any stream of wake-ups, even free ones, puts that p99 near 2 ms ("wake-ups alone"). Without that quantum: how long a worker's message (one every ~5 ms, at random moments) waited for the event loop during each stream, µs:\n\n${table(
        ['stream', 'messages', 'p50 µs', 'p99 µs', 'max µs'],
        [
          ['idle', w.idle],
          ['sync detect, 1M', w.sync],
          ['detectAsync, 1M, 2 in flight', w.async],
        ].map(([label, m]) => [label, m.count, orDash(m.p50Us), orDash(m.p99Us), orDash(m.maxUs)]),
      )}`,
    );
  }
  if (extra.throughput) {
    const t = extra.throughput;
    sections.push(
      `Throughput at 1k values (medians of ${t.rounds} alternating rounds): sync detect ${perSecond(1e6 / t.syncPerSecond)}/s back to back; detectAsync with ${t.inFlight} in flight ${perSecond(1e6 / t.asyncPerSecond)}/s (${(t.ratio * 100).toFixed(0)}% of sync).`,
    );
  }
  if (extra.cpuPerCall) {
    sections.push(
      `CPU time per call, all threads of the process (process.cpuUsage), one call at a time (median of alternating rounds), with the wall time beside it:\n\n${table(
        [
          'size',
          'detect CPU µs',
          'detectAsync CPU µs',
          'detectAsync / detect',
          'detect wall µs',
          'detectAsync wall µs',
        ],
        extra.cpuPerCall.map((r) => [
          sizeLabel(r.size),
          us(r.detect.cpuUs),
          us(r.detectAsync.cpuUs),
          fmtRatio(r.detectAsync.cpuUs / r.detect.cpuUs),
          us(r.detect.wallUs),
          us(r.detectAsync.wallUs),
        ]),
      )}`,
    );
  }
  if (extra.lowLatency) {
    const { lowLatencyUs, rows } = extra.lowLatency;
    sections.push(
      `The low-latency mode (PY_OUTLIERS_LOW_LATENCY_US=${lowLatencyUs}: after each call an idle Python thread, and the event loop after each submit, poll for up to ${lowLatencyUs} µs instead of sleeping) against the default, one call at a time; CPU time per call is all threads' (process.cpuUsage), the hop is detectAsync's wall time less detect's (medians of alternating rounds):\n\n${table(
        [
          'where',
          'mode',
          'size',
          'detect CPU µs',
          'detectAsync CPU µs',
          'detectAsync - detect, wall µs',
        ],
        rows.map((r) => [
          r.where,
          r.mode,
          sizeLabel(r.size),
          us(r.detect.cpuUs),
          us(r.detectAsync.cpuUs),
          signedUs(r.detectAsync.wallUs - r.detect.wallUs),
        ]),
      )}`,
    );
  }
  if (extra.idleCpu) {
    sections.push(
      `CPU time while idle: ${extra.idleCpu.cpuMs.toFixed(1)} ms over ${extra.idleCpu.ms / 1000} s, right after a burst of async calls.`,
    );
  }
  const range = (diffs) =>
    diffs ? `${signedUs(Math.min(...diffs))} to ${signedUs(Math.max(...diffs))}` : '-';
  if (overheadRows.length) {
    sections.push(
      `detectAsync one at a time: what it costs over detect (paired by round), and the same less each call's own time inside the Python function (what the hop costs; judged), against a libuv-pool round trip (fs.promises.stat) in the same rounds:\n\n${table(
        [
          'size',
          'detectAsync - detect µs',
          'per round, min to max µs',
          "less the function's own time µs",
          'per round, min to max µs',
          'stat round trip µs',
          'hop / stat',
          'detectAsync / node-calls-python async',
        ],
        overheadRows.map((r) => [
          sizeLabel(r.size),
          us(r.overheadUs),
          range(r.roundDiffsUs),
          r.hopUs === undefined ? '-' : us(r.hopUs),
          range(r.hopRoundDiffsUs),
          us(r.statUs),
          `${r.perStat.toFixed(2)}x`,
          fmtRatio(r.perNcpAsync),
        ]),
      )}`,
    );
  }
  if (lowLatencyHopRows.length) {
    sections.push(
      `The low-latency mode's hop (PY_OUTLIERS_LOW_LATENCY_US=${extra.lowLatency?.lowLatencyUs}, a process of its own): detectAsync less detect, each less the function's own time, against a stat round trip in the same rounds (judged):\n\n${table(
        [
          'size',
          "hop µs (less the function's own time)",
          'per round, min to max µs',
          'stat round trip µs',
          'hop / stat',
        ],
        lowLatencyHopRows.map((r) => [
          sizeLabel(r.size),
          r.hopUs === undefined ? '-' : us(r.hopUs),
          range(r.hopRoundDiffsUs),
          us(r.statUs),
          `${r.perStat.toFixed(2)}x`,
        ]),
      )}`,
    );
  }
  /** A byCount() result as a table: calls/s for each count, and each count's ratio to the first. */
  const byCountTable = (t, unit) =>
    table(
      [
        'size',
        ...t.counts.map((n) => `${n} ${unit}${n > 1 ? 's' : ''}`),
        ...t.counts.slice(1).map((n) => `${n} / ${t.counts[0]}`),
      ],
      t.rows.map((r) => [
        sizeLabel(r.size),
        ...t.counts.map((n) => perSecond(1e6 / r.perSecond[n])),
        ...t.counts.slice(1).map((n) => fmtRatio(r.ratioTo1[n])),
      ]),
    );
  /** A byCount() result's machine CPU busy, as a section to put beside its table. */
  const busySection = (t, unit) =>
    t.rows.every((r) => r.machineBusy)
      ? [
          `The machine's CPU busy during those rows (every process, ${t.cpus} CPUs, median): where one ${unit} and the caller already keep every CPU busy, a second ${unit} has nothing to run on.\n\n${table(
            [
              'size',
              ...t.counts.map((n) =>
                typeof n === 'number'
                  ? `${n} ${n > 1 ? unit.replace(/s?$/, (s) => (s ? 'ses' : 's')) : unit}`
                  : n,
              ),
            ],
            t.rows.map((r) => [
              sizeLabel(r.size),
              ...t.counts.map((n) => `${Math.round(r.machineBusy[n] * 100)}%`),
            ]),
          )}`,
        ]
      : [];
  if (extra.threads) {
    const t = extra.threads;
    sections.push(
      `detectAsync throughput by Python threads (PY_OUTLIERS_THREADS), ${t.inFlight} in flight, calls/s (median of ${t.rounds} alternating rounds; ratio to 1 thread paired by round):\n\n${byCountTable(t, 'thread')}`,
      ...busySection(t, 'thread'),
    );
  }
  if (extra.threadsOneCpu) {
    const t = extra.threadsOneCpu;
    sections.push(
      `The same inside a one-CPU quota (a cgroup's cpu.cfs_quota_us = its period, as \`docker run --cpus=1\`; the default is 1 thread everywhere), median of ${t.rounds} alternating rounds:\n\n${byCountTable(t, 'thread')}`,
    );
  }
  if (extra.serverWorkers) {
    const t = extra.serverWorkers;
    sections.push(
      `Outliers { remote } throughput by server processes (grpc_server.py --workers N, one port), ${t.inFlight} in flight from one client, calls/s (median of ${t.rounds} alternating rounds; ratio to 1 worker paired by round):\n\n${byCountTable(t, 'worker')}`,
    );
    sections.push(...busySection(t, 'server process'));
    for (const row of t.rows.filter((r) => r.size === 1_000_000)) {
      const r = row.ratioTo1[2];
      if (r !== undefined) {
        targets.push([`2 server processes / 1, one client, at 1M >= 1.6x`, r >= 1.6, fmtRatio(r)]);
      }
    }
  }
  const remoteSizes = SIZES.filter((s) => find('remote', s));
  if (remoteSizes.length > 0) {
    sections.push(
      `Any function on a server (Outliers { remote } and RemoteOutliers: the Functions service, MessagePack header and raw array bytes), one call at a time, beside the plain gRPC client of one RPC (DetectRaw): paired ratios.\n\n${table(
        ['values', '{ remote } µs', '/ plain gRPC', '/ in-process detect', '/ worker process'],
        remoteSizes.map((s) => [
          sizeLabel(s),
          us(find('remote', s).medianUs),
          fmtRatio(ratio(find('remote', s), find('grpc', s))),
          fmtRatio(ratio(find('remote', s), find('inproc', s))),
          fmtRatio(ratio(find('remote', s), find('pool', s))),
        ]),
      )}`,
    );
    for (const s of [1e7].filter((size) => find('remote', size))) {
      const r = ratio(find('remote', s), find('inproc', s));
      targets.push([
        `{ remote } / in-process detect at ${sizeLabel(s)} <= 3x`,
        r <= 3,
        fmtRatio(r),
      ]);
    }
    if (find('remote_trivial', 1000) && find('grpc_floor', 1000)) {
      const floor = find('grpc_floor', 1000);
      sections.push(
        `A trivial call on 1k values through { remote } (${us(find('remote_trivial', 1000).medianUs)} µs) beside gRPC's floor on loopback, a health Check, the smallest unary call to the same server (${us(floor.medianUs)} µs): ${fmtRatio(ratio(find('remote_trivial', 1000), floor))}.`,
      );
    }
  }
  if (extra.service) {
    const { rows, seconds, size } = extra.service;
    // autocannon records whole milliseconds (a 0.6 ms request counts as 0): "<1" for 0.
    const ms = (v) => (v === 0 ? '<1' : v >= 10 ? v.toFixed(0) : v.toFixed(2));
    const ratios = sameP99Ratios(rows);
    sections.push(
      `The HTTP service (examples/http-service) under autocannon: POST /detect with ${size} binary values, ${seconds} s per row; latency as autocannon measures it (whole request, in whole milliseconds), event-loop delay inside the service (1 ms resolution):\n\n${table(
        [
          'backend',
          'connections',
          'requests/s',
          'p50 ms',
          'p99 ms',
          'p99.9 ms',
          'event loop p99 ms',
          'non-2xx + errors',
        ],
        rows.map((r) => [
          backendLabel(r.backend),
          r.connections,
          r.requestsPerSecond.toFixed(0),
          ms(r.p50Ms),
          ms(r.p99Ms),
          ms(r.p999Ms),
          ms(r.eventLoopP99Ms),
          r.non2xx + r.errors,
        ]),
      )}\n\nAt the same p99, the in-process service serves ${ratios
        .map(
          (r) =>
            `${fmtRatio(r.ratio)} the requests/s of the gRPC one (gRPC at ${r.connections} connections, p99 ${ms(r.p99Ms)} ms)`,
        )
        .join('; ')}.`,
    );
    const at = (backend, connections) =>
      rows.find((r) => r.backend === backend && r.connections === connections);
    const top = Math.max(...rows.map((r) => r.connections));
    if (at('inprocess', top) && at('none', top)) {
      const share = at('inprocess', top).requestsPerSecond / at('none', top).requestsPerSecond;
      targets.push([
        `the in-process service at ${top} connections >= 0.85x of its HTTP ceiling (no Python)`,
        share >= 0.85,
        fmtRatio(share),
      ]);
    }
    const failed = rows.reduce((n, r) => n + r.non2xx + r.errors, 0);
    targets.push([
      'the service answers every load request with 200',
      failed === 0,
      `${failed} failed`,
    ]);
  }
  if (extra.startup) {
    const t = extra.startup;
    sections.push(
      `Start-up, whole processes (medians of paired rounds): bare node ${t.nodeMs.toFixed(0)} ms; plain Python's \`import numpy\` ${t.numpyMs.toFixed(0)} ms; node with \`require('py-outliers')\` + new Outliers() + first detect ${t.firstDetectMs.toFixed(0)} ms: ${t.extraMs.toFixed(0)} ms over the two (gRPC's packages load only with RemoteOutliers).`,
    );
    targets.push([
      `import + new Outliers() + first detect within 30 ms of bare node + Python's numpy import`,
      t.extraMs <= 30,
      `${t.extraMs.toFixed(0)} ms`,
    ]);
  }
  // Worker processes (ProcessPool): one call at a time beside in-process and gRPC, throughput
  // by processes beside threads, a crash's cost, idle CPU.
  const poolSizes = SIZES.filter((s) => find('pool', s));
  if (poolSizes.length > 0) {
    sections.push(
      `Worker processes (ProcessPool, one worker), one call at a time: paired ratios.\n\n${table(
        [
          'values',
          'pool µs',
          'pool / detectAsync',
          'pool / detect',
          'pool / gRPC',
          'allocate()d input / detect',
        ],
        poolSizes.map((s) => [
          sizeLabel(s),
          us(find('pool', s).medianUs),
          fmtRatio(ratio(find('pool', s), find('async', s))),
          fmtRatio(ratio(find('pool', s), find('inproc', s))),
          fmtRatio(ratio(find('pool', s), find('grpc', s))),
          fmtRatio(ratio(find('pool_shared', s), find('inproc', s))),
        ]),
      )}`,
    );
    if (find('pool_trivial', 1000) && find('pool_floor', 1000)) {
      const floor = find('pool_floor', 1000);
      sections.push(
        `A trivial call on 1k values through a worker process (${us(find('pool_trivial', 1000).medianUs)} µs) beside the floor of any worker process's call, 64 bytes to a plain python echo and back on the same kind of channel, a socketpair read through Node's streams (${us(floor.medianUs)} µs): ${fmtRatio(ratio(find('pool_trivial', 1000), floor))}. In-process detectAsync hands each call to a thread and back instead: ${us(find('async', 1000)?.medianUs ?? NaN)} µs at 1k.`,
      );
    }
    const llSizes = poolSizes.filter((s) => find('ll_pool', s));
    if (llSizes.length > 0) {
      sections.push(
        `Worker processes in the low-latency mode (PY_OUTLIERS_LOW_LATENCY_US=${extra.lowLatency?.lowLatencyUs ?? 100}: after each call the worker polls its channel, and the event loop polls after each send, instead of sleeping), one call at a time: paired ratios.\n\n${table(
          [
            'values',
            'low-latency pool µs',
            '/ default pool',
            '/ detectAsync',
            '/ detectAsync, low-latency mode',
          ],
          llSizes.map((s) => [
            sizeLabel(s),
            us(find('ll_pool', s).medianUs),
            fmtRatio(ratio(find('ll_pool', s), find('pool', s))),
            fmtRatio(ratio(find('ll_pool', s), find('async', s))),
            fmtRatio(ratio(find('ll_pool', s), find('ll_async', s))),
          ]),
        )}`,
      );
    }
    if (extra.poolCpuPerCall) {
      sections.push(
        `Worker processes, one call at a time at 1k: the CPU time each call costs Node (all threads, process.cpuUsage) and the worker (all threads, /proc schedstat), medians of rounds, each mode in a process of its own:\n\n${table(
          ['mode', 'Node CPU µs', 'worker CPU µs', 'total CPU µs', 'wall µs'],
          extra.poolCpuPerCall.map((r) => [
            r.mode,
            us(r.nodeUs),
            us(r.workerUs),
            us(r.nodeUs + r.workerUs),
            us(r.wallUs),
          ]),
        )}`,
      );
      // On one CPU both sides of a call share a core: the pool's own cost, beside in-process
      // detectAsync's on one CPU (the low-latency table's row), free of the cross-CPU wake-ups
      // that on a VM decide much of the one-at-a-time rows.
      const pinnedPool = extra.poolCpuPerCall.find((r) => r.mode.endsWith(ONE_CPU));
      const pinnedAsync = extra.lowLatency?.rows.find(
        (r) => r.where === ONE_CPU && r.mode === 'default' && r.size === 1000,
      );
      if (pinnedPool && pinnedAsync) {
        sections.push(
          `On one CPU (taskset -c 0), where a wake-up crosses no CPU: a worker process's detectAsync at 1k took ${us(pinnedPool.wallUs)} µs, in-process detectAsync ${us(pinnedAsync.detectAsync.wallUs)} µs (${fmtRatio(pinnedPool.wallUs / pinnedAsync.detectAsync.wallUs)}), and in-process detect ${us(pinnedAsync.detect.wallUs)} µs.`,
        );
      }
    }
    if (find('pool', 1000)) {
      const r = ratio(find('pool', 1000), find('async', 1000));
      targets.push([
        `worker process / in-process detectAsync at 1k <= 1.5x`,
        r <= 1.5,
        fmtRatio(r),
      ]);
      const g = ratio(find('pool', 1000), find('grpc', 1000));
      targets.push([`worker process / gRPC at 1k <= 0.1x`, g <= 0.1, fmtRatio(g)]);
    }
    for (const s of [1e7].filter((size) => find('pool', size))) {
      const r = ratio(find('pool', s), find('inproc', s));
      targets.push([
        `worker process / in-process detect at ${sizeLabel(s)} <= 1.25x`,
        r <= 1.25,
        fmtRatio(r),
      ]);
    }
  }
  if (extra.processes) {
    const { rows, inFlight, rounds } = extra.processes;
    sections.push(
      `detectAsync throughput, ${inFlight} in flight, Python threads against worker processes (calls/s; ${rounds} alternating rounds, ratios paired by round to 1 thread):\n\n${table(
        [
          'values',
          ...extra.processes.counts,
          '2 processes / 1 process',
          '2 / 1, input from allocate',
          '2 / 1, sendAhead',
        ],
        rows.map((row) => [
          sizeLabel(row.size),
          ...extra.processes.counts.map(
            (c) => `${row.perSecond[c].toFixed(0)} (${fmtRatio(row.ratioTo1[c])})`,
          ),
          ...['', ', allocate', ', sendAhead'].map((input) =>
            fmtRatio(
              summarize(
                row.perRound[`2 processes${input}`].map(
                  (v, r) => v / row.perRound[`1 process${input}`][r],
                ),
              ).medianUs,
            ),
          ),
        ]),
      )}\n\n"allocate": the input is in memory from \`pool.allocate\`, so Node copies nothing; otherwise Node copies it into shared memory on its one thread, and on this machine's CPUs that copy competes with the workers. While every worker is busy, the next calls' inputs are copied ahead (staging, docs/processes.md). "sendAhead" (opt-in, \`new ProcessPool({ sendAhead: true })\`): each busy worker is sent its next call before it replies, so it starts it with no round trip to Node; its CPU cost is in the CPU-busy table below.`,
      ...busySection(extra.processes, 'worker process'),
    );
    for (const row of rows) {
      const two = summarize(
        row.perRound['2 processes'].map((v, r) => v / row.perRound['1 process'][r]),
      ).medianUs;
      const goal = row.size >= 100_000 ? 1.7 : 1.3;
      targets.push([
        `2 worker processes / 1 at ${sizeLabel(row.size)}, ${inFlight} in flight >= ${goal}x`,
        two >= goal,
        fmtRatio(two),
      ]);
    }
  }
  if (extra.crashRecovery) {
    const c = extra.crashRecovery;
    sections.push(
      `Worker processes: from a crash (SIGSEGV in a worker) to the next good call on 1k values, median of ${c.times}: ${c.ms.toFixed(0)} ms (max ${c.maxMs.toFixed(0)} ms; the worker's replacement, a new python importing numpy, starts at the crash).`,
    );
    targets.push([
      'a crash costs one call (the next call succeeds)',
      c.others === 0,
      `${c.others} other calls failed`,
    ]);
  }
  if (extra.poolIdleCpu) {
    const c = extra.poolIdleCpu;
    targets.push([
      `worker processes: no CPU while idle (Node and ${c.workers} worker(s), ${c.ms / 1000} s) < 1% of a core`,
      c.nodeCpuMs + c.workersCpuMs < c.ms / 100,
      `${c.nodeCpuMs.toFixed(1)} ms + ${c.workersCpuMs.toFixed(1)} ms`,
    ]);
  }
  if (extra.functionCalls) {
    const fromFunctions = functionReport(extra.functionCalls);
    sections.push(...fromFunctions.sections);
    targets.push(...fromFunctions.targets);
  }
  for (const skipped of extra.skipped ?? []) sections.push(`Skipped: ${skipped}.`);
  sections.push(
    `Targets:\n\n${table(
      ['target', 'met', 'this run'],
      targets.map(([t, ok, v]) => [t, ok ? 'yes' : 'NO', v]),
    )}`,
  );

  return { text: sections.join('\n\n'), targets, svg: chart(find), machine };
}

/**
 * Writes results.json, results.md and latency.svg for `results`, and, for a full run (not
 * BENCH_QUICK), docs/benchmarks.md and docs/latency.svg: every figure in the docs is then what
 * one whole run measured, with its machine and date.
 */
export function writeReport(results, { write = true } = {}) {
  const { text, targets, svg, machine } = renderReport(results);
  console.log(`\n${text}\n`);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  if (write) {
    fs.writeFileSync(
      path.join(RESULTS_DIR, 'results.json'),
      `${JSON.stringify({ ...results, targets }, null, 2)}\n`,
    );
  }
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'results.md'),
    `# py-outliers benchmark\n\n${text}\n\n![latency](latency.svg)\n`,
  );
  fs.writeFileSync(path.join(RESULTS_DIR, 'latency.svg'), svg);
  const written = [`${path.relative(ROOT, RESULTS_DIR)}/results.{json,md}, latency.svg`];
  if (!machine.quick) {
    fs.writeFileSync(path.join(DOCS_DIR, 'benchmarks.md'), docsPage(text, machine));
    writeReadmeSummary(results);
    fs.writeFileSync(path.join(DOCS_DIR, 'latency.svg'), svg);
    written.push('docs/benchmarks.md, docs/latency.svg');
  }
  console.log(`Written: ${written.join('; ')}`);
}

const README = path.join(ROOT, 'README.md');
const SUMMARY_START = '<!-- bench summary: written by make bench (bench/report/report.mjs) -->';
const SUMMARY_END = '<!-- end of bench summary -->';

/**
 * The README's comparison figures, between its two markers: in-process against gRPC,
 * node-calls-python and plain Python, from this run, so the README never quotes a figure by
 * hand.
 */
function writeReadmeSummary({ machine, results: all, functionCalls }) {
  const readme = fs.readFileSync(README, 'utf8');
  const start = readme.indexOf(SUMMARY_START);
  const end = readme.indexOf(SUMMARY_END);
  if (start < 0 || end < start) return;
  const find = (mode, size) => all.find((r) => r.mode === mode && r.size === size);
  const cell = (mode, size) => {
    const r = find(mode, size);
    return r ? `${us(r.medianUs)} µs` : '–';
  };
  const f = functionCalls ?? {};
  const resultOut = (v) => (v === undefined ? '–' : `${(v / 1000).toFixed(1)} ms`);
  const rows = [
    [
      'a call of a trivial function, 1k values',
      'inproc_trivial',
      'pool_trivial',
      'remote_trivial',
      'ncp_trivial',
      'python_trivial',
      1000,
    ],
    ['`outliers.detect`, 1k values', 'inproc', 'pool', 'remote', 'ncp', 'python', 1000],
    ['`outliers.detect`, 1M values', 'inproc', 'pool', 'remote', 'ncp', 'python', 1_000_000],
  ].map(
    ([label, a, p, b, c, d, size]) =>
      `| ${label} | ${cell(a, size)} | ${cell(p, size)} | ${cell(b, size)} | ${cell(c, size)} | ${cell(d, size)} |`,
  );
  rows.push(
    `| a ${((f.inprocess?.resultSize ?? 1e7) / 1e6).toFixed(0)}M float64 result back to JS | ${resultOut(f.inprocess?.result.medianUs.handedOff)} | – | – | ${resultOut(f.ncp?.result.medianUs.copied)} | – |`,
  );
  const table = [
    `Median time per call, one call at a time (\`make bench\`, ${machine.date.slice(0, 10)}, ${machine.cores} CPUs, Node ${machine.node}; all of it in [docs/benchmarks.md](docs/benchmarks.md)):`,
    '',
    '| | py-outliers | py-outliers, worker processes (async) | py-outliers, a server (`{ remote }`, gRPC) | node-calls-python | plain Python |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  fs.writeFileSync(
    README,
    `${readme.slice(0, start + SUMMARY_START.length)}\n\n${table}\n\n${readme.slice(end)}`,
  );
}

function docsPage(text, machine) {
  return `<!-- Generated by bench/report/report.mjs from bench/results/results.json (make bench): do not edit. -->

# Benchmarks

Every figure on this page comes from one \`make bench\` run, measured side by side: ${machine.date.slice(0, 10)}, ${machine.cpu} (${machine.cores} CPUs seen, ${machine.memoryGiB} GiB), ${machine.os}, Node ${machine.node}, Python ${machine.python}, numpy ${machine.numpy}. Timings on a shared virtual machine are noisy; the ratios, paired by round, are the steadier figures.

${text}

![latency by input size](latency.svg)
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(RESULTS_DIR, 'results.json');
  const { targets: _judgedThen, ...results } = JSON.parse(fs.readFileSync(file, 'utf8'));
  writeReport(results, { write: false });
}
