// The console's one way to the API: same origin, the bearer token on every call, errors as ApiError with the
// server's code and message.

/** A refusal from the API (its `error.code`, `error.message`, `error.details`), or a network failure (`status` 0). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined = undefined,
  ) {
    super(message);
  }
}

export type Role = "viewer" | "operator" | "admin";
export const ROLES: readonly Role[] = ["viewer", "operator", "admin"];

/** Whether `role` includes `needed` (viewer < operator < admin). */
export function hasRole(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  json?: unknown;
  /** A raw text body with its content type (scenario YAML). */
  text?: { body: string; type: string };
  signal?: AbortSignal;
}

/** Reads an error body `{error: {code, message, details}}`; anything else becomes a generic error with the status. */
export async function errorFrom(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
    if (body.error?.code !== undefined) {
      const details =
        typeof body.error.details === "object" && body.error.details !== null
          ? (body.error.details as Record<string, unknown>)
          : undefined;
      return new ApiError(res.status, body.error.code, body.error.message ?? body.error.code, details);
    }
  } catch {
    // Not JSON: fall through.
  }
  return new ApiError(res.status, "http", `HTTP ${res.status}`);
}

export class Api {
  constructor(
    readonly token: string,
    /** Called when the server no longer accepts the token (revoked, Mixer rotated it). */
    private readonly onUnauthorized: () => void = () => undefined,
  ) {}

  headers(extra: Record<string, string> = {}): Headers {
    return new Headers({ Authorization: `Bearer ${this.token}`, ...extra });
  }

  async request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const headers = this.headers();
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(opts.json);
    } else if (opts.text !== undefined) {
      headers.set("Content-Type", opts.text.type);
      body = opts.text.body;
    }
    let res: Response;
    try {
      res = await fetch(path, {
        method: opts.method ?? "GET",
        headers,
        body,

        credentials: "omit",
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network", "the Mixer cannot be reached");
    }
    if (!res.ok) {
      const error = await errorFrom(res);
      if (res.status === 401) this.onUnauthorized();
      throw error;
    }
    return (await res.json()) as T;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>(path, signal === undefined ? {} : { signal });
  }

  post<T>(path: string, json: unknown = {}): Promise<T> {
    return this.request<T>(path, { method: "POST", json });
  }
}
