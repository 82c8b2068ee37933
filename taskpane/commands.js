// The manifest's FunctionFile. Tandem's only button opens the task pane (ShowTaskpane), so
// Office needs this page to load and initialise, and nothing more.

/** Tells Office the function file is ready. */
function ready() {
  if (typeof Office !== "undefined" && Office.onReady) Office.onReady();
}

ready();
