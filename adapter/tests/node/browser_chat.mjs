// Drives the chat example (examples/chat.rs) in headless Chromium: opens the chat page on
// node A and on node B, joins the same room on both through the page, sends a message from
// A, waits until B's page shows it, and takes a screenshot of B's page.
//
//   node browser_chat.mjs --a http://127.0.0.1:3001/ --b http://127.0.0.1:3002/ \
//        --screenshot chat.png [--room lobby] [--text "hello from node A"] [--chromium /usr/bin/chromium]
//        [--xff-a 198.51.100.1 --xff-b 198.51.100.2] [--node-a 3001]
//
// --xff-a/--xff-b: every request of page A (B) carries `X-Forwarded-For: <address>`, as if
// it came through a proxy from that client address (so a balancer hashing the client address
// can tell the two pages apart). --node-a: A's message must say it was sent from that node.
//
// Uses Debian's chromium (apt-get install -y chromium) through playwright-core; it never
// downloads a browser. Exits 0 when B showed A's message and the screenshot was written.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { chromium } from "playwright-core";

// Failure guard for every wait (never a synchronisation device).
const GUARD_MS = 20000;

function parseArgs(argv) {
  const opts = {
    room: "lobby",
    text: "hello from node A",
    chromium: "/usr/bin/chromium",
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    opts[key] = value;
  }
  for (const need of ["a", "b", "screenshot"]) {
    if (!opts[need]) throw new Error(`--${need} is required`);
  }
  return opts;
}

// Opens the chat page at `url` and waits until its socket is connected; returns the page and
// the socket id the page shows.
async function open(context, url, name, xff) {
  const page = await context.newPage();
  if (xff) await page.setExtraHTTPHeaders({ "X-Forwarded-For": xff });
  page.on("console", (m) => console.error(`[${name} console] ${m.text()} ${m.location().url ?? ""}`));
  page.on("pageerror", (e) => console.error(`[${name} pageerror] ${e.message}`));
  await page.goto(url, { timeout: GUARD_MS });
  await page.locator("#log").getByText("connected as ").first().waitFor({ timeout: GUARD_MS });
  const id = (await page.locator("#me").textContent()).trim();
  if (!id) throw new Error(`${name}: no socket id shown`);
  return { page, id };
}

async function join(page, room, name) {
  await page.locator("#room").fill(room);
  await page.locator("#join").click();
  await page.locator("#log").getByText("join: ok", { exact: true }).waitFor({ timeout: GUARD_MS });
  console.error(`${name} joined ${room}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const userDataDir = mkdtempSync(joinPath(tmpdir(), "respub-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.chromium,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 900, height: 600 },
      timeout: GUARD_MS,
    });
    const a = await open(context, opts.a, "A", opts["xff-a"]);
    const b = await open(context, opts.b, "B", opts["xff-b"]);
    await join(a.page, opts.room, "A");
    await join(b.page, opts.room, "B");

    await a.page.locator("#text").fill(opts.text);
    await a.page.locator("#send").click();
    // The page logs `[room] <from>@<node>: <text>`.
    const line = opts["node-a"] ? `[${opts.room}] ${a.id}@${opts["node-a"]}: ` : `[${opts.room}] ${a.id}@`;
    const shown = b.page
      .locator("#log div")
      .filter({ hasText: line })
      .filter({ hasText: `: ${opts.text}` });
    await shown.first().waitFor({ timeout: GUARD_MS });
    console.error(`B shows: ${(await shown.first().textContent()).trim()}`);

    await b.page.screenshot({ path: opts.screenshot, timeout: GUARD_MS });
    console.log(`SCREENSHOT ${opts.screenshot}`);
  } finally {
    if (context) await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`browser_chat failed: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
