/**
 * The writer thread: owns the write connection, so that commits and their fsync never hold
 * the main thread. Every request already queued when one arrives joins its transaction.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { serializeError } from '../../errors.ts';
import { SqliteWriter } from './sqlite-writer.ts';
import type { WriterData, WriterReply, WriterRequest } from './writer-protocol.ts';

const { file, port } = workerData as WriterData;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

function serve(writer: SqliteWriter): void {
  port.on('message', (first: WriterRequest) => {
    const requests = [first];
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
      requests.push(next.message as WriterRequest);
    }
    reply({ type: 'settled', settled: writer.commit(requests) });
    if (requests[requests.length - 1]!.op === 'close') {
      writer.close();
      port.close();
    }
  });
}

let writer: SqliteWriter | undefined;
try {
  writer = SqliteWriter.open(file);
} catch (error) {
  reply({ type: 'open_failed', error: serializeError(error) });
  port.close();
}
if (writer) serve(writer);
