// modelport/testing: the replay provider for offline tests.

export interface ReplayOptions {
  /** A snapshot YAML file, or a directory searched for .yaml/.yml files. */
  path?: string;
  /** Snapshot YAML documents (instead of `path`). */
  yaml?: string | string[];
  /** The port on 127.0.0.1 (0, the default, picks a free one). */
  port?: number;
  /** Characters per streamed text delta (default 200; 1 for load tests). */
  deltaChars?: number;
  /** A pause between streamed events, in ms. */
  chunkDelayMs?: number;
  /** Keep every request for requests() (default true). */
  record?: boolean;
  /** The text answer to a request no conversation matches (instead of an HTTP 500 explaining why). */
  fallback?: string;
  /** The model's context window in tokens: a larger request (its JSON body's bytes / 4) gets the wire
   * format's context-length error. */
  contextWindow?: number;
}

/** A request the replay server received. */
export interface ReplayRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The JSON body (null when empty). */
  body: any;
}

/** A loopback provider on 127.0.0.1 playing recorded conversations in every wire format. */
export declare class ReplayServer {
  private constructor();
  static start(options: ReplayOptions): Promise<ReplayServer>;
  /** http://127.0.0.1:PORT: the baseUrl for type "anthropic" and "azure". */
  readonly url: string;
  /** http://127.0.0.1:PORT/v1: the baseUrl for type "openai". */
  readonly openaiUrl: string;
  readonly port: number;
  requests(): ReplayRequest[];
  readonly requestCount: number;
  /** Streams the client closed before their end. */
  readonly disconnects: number;
  /** Streams sent to their end. */
  readonly completedStreams: number;
  /** Resolves once the client has closed at least `n` streams early. */
  waitDisconnects(n: number): Promise<void>;
  stop(): Promise<void>;
}
