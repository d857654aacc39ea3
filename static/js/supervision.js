// The supervision dashboard's week-by-week chart (Chart.js, vendored in static/vendor/chartjs).
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("trend-chart");
    if (!canvas || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(canvas.getAttribute("data-chart"));
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: data.names.dormant, data: data.dormant, backgroundColor: "#b3261e", stack: "band", yAxisID: "y" },
          { type: "bar", label: data.names.warning, data: data.warning, backgroundColor: "#e0a100", stack: "band", yAxisID: "y" },
          { type: "line", label: data.names.filing_rate, data: data.filing_rate, borderColor: "#1e7b34", backgroundColor: "#1e7b34", yAxisID: "rate", spanGaps: true }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        aspectRatio: 3,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, stacked: true, ticks: { precision: 0 } },
          rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } }
        }
      }
    });
    // Tests (and people) can tell the chart was drawn.
    canvas.setAttribute("data-drawn", String(chart.data.datasets.length));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
