/** The first failure of a node, where it happened: containers pass it up unchanged. */
export class NodeFailed extends Error {
  constructor(
    readonly node: string,
    message: string,
    readonly original: unknown,
  ) {
    super(message);
    this.name = 'NodeFailed';
  }
}

/** A failure kept as an output (`continue_on_error`, `skip_failure(s)`): its message and the node that failed. */
export function failureOutput(err: unknown, container: string): { error: string; node: string } {
  return { error: err instanceof Error ? err.message : String(err), node: err instanceof NodeFailed ? err.node : container };
}

/** What a value is, for a message saying it is not what was needed. */
export function kindOf(x: unknown): string {
  return x === null || x === undefined
    ? 'null'
    : Array.isArray(x)
      ? 'a list'
      : typeof x === 'object'
        ? 'an object'
        : `${typeof x} ${JSON.stringify(x)}`;
}
