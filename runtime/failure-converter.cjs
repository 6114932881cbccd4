'use strict';
// Loaded by path (DataConverter.failureConverterPath): require()d by workers and clients and bundled
// into the workflow sandbox by the worker's webpack, so it is plain CommonJS with no TypeScript.
// Messages and stack traces move into an encoded payload, which the payload codec then encrypts.
const { DefaultFailureConverter } = require('@temporalio/common'); // eslint-disable-line @typescript-eslint/no-require-imports

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
