/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS entry: the compiled binding loads only through require */
/* global module, require */
'use strict';
// The compiled binding (src/libpcap.c); node-gyp builds it when npm installs this package.
module.exports = require('./build/Release/xdplab_libpcap.node');
