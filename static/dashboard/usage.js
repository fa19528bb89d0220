// The usage page's charts: one uPlot chart per measure over the days of the filtered range. The data
// comes from the page itself (json_script "usage-days"), so the charts need no further request.
(function () {
  "use strict";
  var source = document.getElementById("usage-days");
  if (!source || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var xs = data.day.map(function (day) {
    var p = day.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 1000;
  });
  var colors = { blue: "#2f55d4", red: "#b42318", green: "#17803d", violet: "#7a4cc2", amber: "#b7791f", teal: "#0f7b83" };
  var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 42] }) : null;
  var fmt = {
    count: function (u, v) { return v == null ? "–" : Math.round(v).toLocaleString("en-US"); },
    usd: function (u, v) { return v == null ? "–" : v === 0 ? "$0" : "$" + (v >= 1 ? v.toFixed(2) : v.toFixed(4)); },
    ms: function (u, v) {
      if (v == null) { return "–"; }
      if (v >= 1000) { return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + " s"; }
      return (v >= 10 || v === 0 ? Math.round(v) : v.toFixed(1)) + " ms";
    },
    pct: function (u, v) { return v == null ? "–" : v.toFixed(1) + "%"; }
  };
  function line(label, color, values, format, fill) {
    return { series: { label: label, stroke: color, width: 2, fill: fill ? color + "22" : undefined,
                       points: { size: 5 }, value: format }, values: values };
  }
  function bar(label, color, values, format) {
    return { series: { label: label, stroke: color, fill: color + "bb", width: 1, paths: bars, points: { show: false },
                       value: format }, values: values };
  }
  var charts = {
    requests: { lines: [bar("Requests", colors.blue, data.requests, fmt.count),
                        line("Errors", colors.red, data.errors, fmt.count)], axis: fmt.count },
    tokens: { lines: [line("Prompt", colors.blue, data.prompt_tokens, fmt.count, true),
                      line("Completion", colors.green, data.completion_tokens, fmt.count, true)], axis: fmt.count },
    cost: { lines: [bar("Cost", colors.violet, data.cost_usd, fmt.usd)], axis: fmt.usd },
    latency: { lines: [line("p50", colors.teal, data.p50_ms, fmt.ms), line("p95", colors.amber, data.p95_ms, fmt.ms)],
               axis: fmt.ms },
    rates: { lines: [line("Error rate", colors.red, data.error_rate, fmt.pct),
                     line("Cache hit rate", colors.green, data.cache_hit_rate, fmt.pct)], axis: fmt.pct, max: 100 }
  };
  var integers = [];
  for (var e = 1; e <= 1e9; e *= 10) { integers.push(e, 2 * e, 5 * e); }
  var rendered = {};
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = charts[el.getAttribute("data-chart")];
    if (!spec) { return; }
    var axisValues = function (u, splits) { return splits.map(function (v) { return spec.axis(u, v); }); };
    var opts = {
      width: Math.max(el.clientWidth, 280), height: 200,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      cursor: { points: { size: 7 } },
      scales: { x: { time: true }, y: { range: function (u, min, max) {
        if (spec.max) { return [0, spec.max]; }
        return [0, max > 0 ? max * 1.1 : (spec.axis === fmt.count ? 5 : 1)]; } } },
      axes: [{ grid: { stroke: "#eef0f5" }, ticks: { stroke: "#dfe3ec" } },
             { grid: { stroke: "#eef0f5" }, ticks: { stroke: "#dfe3ec" }, values: axisValues, size: 64,
               incrs: spec.axis === fmt.count ? integers : undefined }],
      series: [{ label: "Day", value: function (u, ts) { return ts == null ? "–" : new Date(ts * 1e3).toISOString().slice(0, 10); } }]
        .concat(spec.lines.map(function (l) { return l.series; }))
    };
    var chart = new uPlot(opts, [xs].concat(spec.lines.map(function (l) { return l.values; })), el);
    el.setAttribute("data-rendered", "true");
    rendered[el.getAttribute("data-chart")] = chart;
  });
  window.dashboardCharts = rendered;
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      Object.keys(rendered).forEach(function (name) {
        var el = document.querySelector('[data-chart="' + name + '"]');
        rendered[name].setSize({ width: Math.max(el.clientWidth, 280), height: 200 });
      });
    }, 120);
  });
})();
