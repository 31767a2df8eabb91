// Holds idle TCP connections to 127.0.0.1:PORT for e2e-listen-idle.sh, driven
// by one command a line on stdin, one answer a line on stdout:
//   open N     opens N more connections that send nothing, BATCH at a time; answers
//              "opened N failed F" once each has connected or failed
//   trickle    one more that sends a request head a byte every 200 ms and never
//              finishes it; answers "trickling"
//   status     "open X closed Y first_closed I last_closed J min_age A max_age B
//              first_close_at C trickle T"
//              closed: connections the server ended (EOF or reset); first_closed,
//              last_closed: the lowest and highest index among them (in opening
//              order, from 0; -1 if none); ages: ms from connect to close, over
//              the closed ones; first_close_at: Date.now() at the first close (-1
//              if none); trickle: "open",
//              or "closed <ms> <first status code or none>"
//   exit       closes everything and exits
// Usage: node idle-conns.mjs PORT [BATCH]
import net from 'node:net';
import readline from 'node:readline';

const port = Number(process.argv[2]);
const batch = Number(process.argv[3] || 100);
const conns = []; // {sock, connectedAt, closedAt}
let open = 0, closed = 0, firstClosed = -1, lastClosed = -1, minAge = Infinity, maxAge = 0;
let firstCloseAt = -1; // wall-clock ms of the first close
let trickle = null;

function openOne(index) {
        return new Promise((resolve) => {
                const c = { sock: null, connectedAt: 0 };
                const s = net.connect({ host: '127.0.0.1', port });
                c.sock = s;
                conns[index] = c;
                let settled = false;
                s.on('connect', () => {
                        c.connectedAt = Date.now();
                        open++;
                        settled = true;
                        resolve(true);
                });
                s.on('data', () => {}); // an idle connection is owed no answer; ignore any
                s.on('error', () => {});
                s.on('close', () => {
                        if (!settled) {
                                settled = true;
                                resolve(false);
                                return;
                        }
                        if (c.closedByUs)
                                return;
                        const age = Date.now() - c.connectedAt;
                        open--;
                        closed++;
                        if (firstClosed < 0 || index < firstClosed)
                                firstClosed = index;
                        lastClosed = Math.max(lastClosed, index);
                        if (firstCloseAt < 0)
                                firstCloseAt = Date.now();
                        minAge = Math.min(minAge, age);
                        maxAge = Math.max(maxAge, age);
                });
        });
}

async function openMany(n) {
        let failed = 0;
        for (let done = 0; done < n;) {
                const k = Math.min(batch, n - done);
                const start = conns.length;
                const results = await Promise.all(
                        Array.from({ length: k }, (_, j) => openOne(start + j)));
                failed += results.filter((ok) => !ok).length;
                done += k;
        }
        return failed;
}

function startTrickle() {
        const head = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(400);
        const s = net.connect({ host: '127.0.0.1', port });
        const t = { sock: s, start: 0, got: '', closedMs: -1, timer: null };
        trickle = t;
        s.on('connect', () => {
                t.start = Date.now();
                let i = 1;
                s.write(head[0]);
                t.timer = setInterval(() => {
                        if (i < head.length)
                                s.write(head[i++]);
                }, 200);
        });
        s.on('data', (d) => { t.got += d.toString('latin1'); });
        s.on('error', () => {});
        s.on('close', () => {
                clearInterval(t.timer);
                t.closedMs = Date.now() - t.start;
        });
}

function status() {
        let tr = 'none';
        if (trickle) {
                const m = /^HTTP\/1\.[01] (\d{3})/.exec(trickle.got);
                tr = trickle.closedMs < 0 ? 'open' : `closed ${trickle.closedMs} ${m ? m[1] : 'none'}`;
        }
        return `open ${open} closed ${closed} first_closed ${firstClosed} last_closed ${lastClosed} ` +
                `min_age ${closed ? minAge : -1} max_age ${closed ? maxAge : -1} ` +
                `first_close_at ${firstCloseAt} trickle ${tr}`;
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
        const [cmd, arg] = line.trim().split(/\s+/);
        if (cmd === 'open') {
                const failed = await openMany(Number(arg));
                console.log(`opened ${arg} failed ${failed}`);
        } else if (cmd === 'trickle') {
                startTrickle();
                console.log('trickling');
        } else if (cmd === 'status') {
                console.log(status());
        } else if (cmd === 'exit') {
                break;
        } else {
                console.log(`unknown command ${cmd}`);
        }
}
for (const c of conns) {
        c.closedByUs = true;
        c.sock.destroy();
}
if (trickle)
        trickle.sock.destroy();
process.exit(0);
