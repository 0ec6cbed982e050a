-- wrk script: GET one public URL (no token), and print the latency percentiles wrk's
-- --latency table lacks (p95) in the RESULT line bench_intake.py's wrk_run reads.

function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %.0f %.0f %.0f\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
