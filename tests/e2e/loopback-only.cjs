// Preload (node -r) for servers that listen on every interface with no option to
// choose: a listen() without a host binds 127.0.0.1 instead, so a test server is
// never reachable from beyond this machine. Used for server-everything's
// streamableHttp and sse modes (app.listen(PORT)).
'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  } else if (args[0] && typeof args[0] === 'object' && !('path' in args[0]) && !args[0].host) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
