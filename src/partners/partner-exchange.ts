import type { Dispatcher } from 'undici';

/** Larger answers are refused unread: every partner answer dabba reads is a few KiB of JSON. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export interface Reply {
  status: number;
  text: string;
}

/** The answer was larger than MAX_ANSWER_BYTES: the partner is answering garbage, not failing for a moment. */
export class AnswerTooLarge extends Error {}

/**
 * One attempt's HTTP exchange, as an undici dispatch handler: the answer's status and its body as
 * text. It is what `request()` gives, without a Readable stream, an AbortController and a listener
 * per attempt; held for as long as a call is in flight, those were much of the copying in every
 * young-generation collection under load (bench/README, "Where the CPU goes"). `end()` gives up on
 * the exchange (its timeout, or its caller gone): the promise rejects with the reason at once, and
 * undici is told to stop as soon as it has the request, which may be later (still connecting).
 * @see https://undici.nodejs.org/#/docs/api/Dispatcher?id=dispatcherdispatchoptions-handler
 */
export class PartnerExchange implements Dispatcher.DispatchHandler {
  readonly reply: Promise<Reply>;
  /** Whether undici took the request onto a socket: from then on, any of it may have reached the partner. */
  started = false;
  #controller: Dispatcher.DispatchController | undefined;
  #ended: Error | undefined;
  #status = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #resolve!: (reply: Reply) => void;
  #reject!: (err: unknown) => void;

  constructor() {
    this.reply = new Promise<Reply>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  end(reason: Error) {
    if (this.#ended) return;
    this.#ended = reason;
    this.#chunks = [];
    this.#reject(reason);
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController) {
    this.#controller = controller;
    this.started = true;
    if (this.#ended) controller.abort(this.#ended);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number) {
    this.#status = status;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer) {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_ANSWER_BYTES) this.end(new AnswerTooLarge(`the answer is over ${MAX_ANSWER_BYTES} bytes`));
    else this.#chunks.push(chunk);
  }

  onResponseEnd() {
    const text = this.#chunks.length === 1 ? this.#chunks[0]!.toString() : Buffer.concat(this.#chunks).toString();
    this.#chunks = [];
    this.#resolve({ status: this.#status, text });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error) {
    this.#chunks = [];
    this.#reject(err);
  }
}
