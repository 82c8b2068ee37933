// npm's postinstall: copies MSAL.js's browser build (a classic script that defines
// globalThis.msal) into vendor/, which the backend serves as a file of the pane, so the pane
// needs no bundler. vendor/ is git-ignored: `npm ci` makes it from the version the lock pins.

import { copyFileSync, mkdirSync, readFileSync } from "node:fs";

const from = new URL("../node_modules/@azure/msal-browser/", import.meta.url);
const to = new URL("../vendor/", import.meta.url);

mkdirSync(to, { recursive: true });
copyFileSync(new URL("lib/msal-browser.min.js", from), new URL("msal-browser.min.js", to));
copyFileSync(new URL("LICENSE", from), new URL("msal-browser.LICENSE.txt", to));
const { version } = JSON.parse(readFileSync(new URL("package.json", from), "utf8"));
console.log(`vendor/msal-browser.min.js: @azure/msal-browser ${version}`);
