"""The console's frame: uPlot served from node_modules (no CDN), nothing else from there."""

from emulator.console import ASSETS_PATH, assets, page


def get(name: str) -> object:
    return assets({"PATH_INFO": f"{ASSETS_PATH}{name}", "REQUEST_METHOD": "GET"})


def test_uplot_is_served_from_the_lockfile_s_install_and_nothing_else_is() -> None:
    script = get("uPlot.iife.min.js")
    assert script.status == 200 and b"uPlot" in script.body  # type: ignore[attr-defined]
    assert script.headers["Content-Type"] == "application/javascript"  # type: ignore[attr-defined]
    assert get("uPlot.min.css").status == 200  # type: ignore[attr-defined]
    assert get("../package.json").status == 404  # type: ignore[attr-defined]
    assert assets({"PATH_INFO": "/_emulator/console", "REQUEST_METHOD": "GET"}) is None


def test_every_page_loads_uplot_from_here_and_refreshes_without_reloading() -> None:
    drawn = page("t", "<p>x</p>")
    assert f'src="{ASSETS_PATH}uPlot.iife.min.js"' in drawn and "https://" not in drawn
    assert 'http-equiv="refresh"' not in drawn and '<main id="content"><p>x</p></main>' in drawn
