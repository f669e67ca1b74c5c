// A plotly chart drawn from the widget's state (see workbench/chart_widget.py).
//
// The figure is one synced trait: every view draws the whole current figure when it is created and
// again whenever the trait changes (Plotly.react), so a view that appears late, a slow kernel or a
// burst of changes cannot leave it blank or stale. plotly.js is not part of the widget's state: the
// first chart on a page asks the kernel for it once (a custom message, never saved in the notebook).

const PLOTLY = "__workbenchPlotly";
const WAIT_MS = 60000;

function loadPlotly(model) {
  if (!window[PLOTLY]) {
    window[PLOTLY] = new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error("the kernel did not send plotly.js")), WAIT_MS);
      const onMessage = (msg, buffers) => {
        if (!msg || msg.type !== "plotly.js") return;
        try {
          const module = { exports: {} };
          new Function("module", "exports", new TextDecoder().decode(buffers[0]))(module, module.exports);
          done(null, module.exports);
        } catch (error) {
          done(error);
        }
      };
      function done(error, plotly) {
        clearTimeout(timer);
        model.off("msg:custom", onMessage);
        if (error) {
          delete window[PLOTLY];
          reject(error);
        } else {
          resolve(plotly);
        }
      }
      model.on("msg:custom", onMessage);
      model.send({ type: "plotly.js?" });
    });
  }
  return window[PLOTLY];
}

function pointOf(point) {
  return {
    curve: point.curveNumber,
    index: point.pointIndex ?? point.pointNumber,
    x: point.x ?? null,
    y: point.y ?? null,
    customdata: point.customdata ?? null,
  };
}

async function render({ model, el }) {
  const div = document.createElement("div");
  div.className = "wb-chart";
  el.appendChild(div);
  let Plotly;
  try {
    Plotly = await loadPlotly(model);
  } catch (error) {
    div.textContent = `The chart cannot be drawn: ${error.message}`;
    return;
  }
  let queue = Promise.resolve();
  let clicks = 0;
  const draw = () => {
    queue = queue
      .then(() => {
        const figure = model.get("figure") || {};
        return Plotly.react(div, figure.data || [], figure.layout || {}, {
          displaylogo: false,
          responsive: true,
          ...(figure.config || {}),
        });
      })
      .then(() => {
        div.dataset.drawn = String(Number(div.dataset.drawn || 0) + 1);
        if (!div.dataset.listening) {
          div.dataset.listening = "1";
          div.on("plotly_click", (event) => {
            if (!event.points || !event.points.length) return;
            model.set("clicked", { ...pointOf(event.points[0]), click: ++clicks });
            model.save_changes();
          });
        }
      })
      .catch((error) => console.warn("workbench chart:", error));
  };
  let width = 0;
  const resize = new ResizeObserver((entries) => {
    const now = Math.round(entries[0].contentRect.width);
    if (now === width || !now) return;  // only a change of width redraws (the height is the figure's)
    width = now;
    if (div.dataset.drawn) requestAnimationFrame(() => Plotly.Plots.resize(div));
  });
  resize.observe(el);
  model.on("change:figure", draw);
  draw();
  return () => {
    model.off("change:figure", draw);
    resize.disconnect();
    Plotly.purge(div);
  };
}

export default { render };
