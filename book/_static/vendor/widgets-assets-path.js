// Ours (mmaplab, MIT). The html-manager bundle finds its icon fonts relative to the URL
// RequireJS gives its module "@jupyter-widgets/html-manager/dist/libembed-amd", which by
// default is a path relative to the page, where the book has none. Map that module path
// onto the vendored copy, found relative to this script (any page depth, and file://).
(function () {
  var here = new URL("html-manager", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = here + "/";
  window.requirejs.config({ paths: { "@jupyter-widgets/html-manager/dist": here,
                                     "@jupyter-widgets": here } });
})();
