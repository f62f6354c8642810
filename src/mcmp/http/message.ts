// What a request handler on the manager listener receives and returns.
import type { HttpRequest } from './parser';

export interface HttpResponse {
  status: number;
  /** Content-Length, Transfer-Encoding and Connection are the listener's: setting them is an error (500). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Strings are sent as UTF-8. */
  body?: string | Buffer;
  /** Close the connection after this reply. */
  close?: boolean;
}

export type RequestHandler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;
