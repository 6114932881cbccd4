import { startSmtpSink } from '../../test/support/mail-sinks.js';

// The bench's SMTP server in a process of its own, as a mail server would be: it prints its URL,
// and answers "stats" on IPC with what it received.
async function run(): Promise<void> {
  const sink = await startSmtpSink({ keepRaw: false });
  process.on('message', (msg) => {
    if (msg !== 'stats') return;
    const counts = sink.countsById();
    process.send?.({ received: sink.messages.length, distinct: counts.size });
  });
  process.on('disconnect', () => {
    void sink.close().then(() => process.exit(0));
  });
  process.send?.({ url: sink.url });
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
