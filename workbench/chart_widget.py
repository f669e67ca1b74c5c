"""A plotly chart as a widget whose state is the whole figure: no incremental sync, nothing to race.

plotly's ``FigureWidget`` sends changes as a stream of partial updates and stores its 5 MB JavaScript
bundle (plotly.js inside) in the state of every figure, so a saved notebook with two charts weighs 10 MB.
``Chart`` keeps the figure as one synced trait that each view draws whole (``Plotly.react``) when it is
created and whenever the figure changes; plotly.js is sent to the browser once per page as a custom
message (``workbench.plotlyjs``; see ``static/chart.js``), so the widget state holds only the figure.
Clicking a point sets ``clicked`` (curve, index, x, y, customdata), which the Explorer turns into the rows
behind the point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anywidget
import plotly.graph_objects as go
import traitlets

from workbench.plotlyjs import plotly_js

__all__ = ["Chart"]


class Chart(anywidget.AnyWidget):
    """``Chart(fig)`` displays ``fig``; ``chart.show(other)`` replaces it in every view."""

    _esm = Path(__file__).with_name("static") / "chart.js"
    figure = traitlets.Dict().tag(sync=True)
    clicked = traitlets.Dict().tag(sync=True)

    def __init__(self, figure: go.Figure | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._answer)
        if figure is not None:
            self.show(figure)

    def show(self, figure: go.Figure) -> None:
        """Draw ``figure`` in place of the current one."""
        self.figure = json.loads(figure.to_json(validate=False))

    def _answer(self, _widget: Any, content: dict[str, Any], _buffers: list[bytes]) -> None:
        if content.get("type") == "plotly.js?":
            self.send({"type": "plotly.js"}, [plotly_js().encode()])
