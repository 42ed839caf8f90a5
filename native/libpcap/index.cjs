'use strict';
// The compiled binding (src/libpcap.c); node-gyp builds it when npm installs this package.
module.exports = require('./build/Release/xdplab_libpcap.node');
