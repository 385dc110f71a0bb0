/**
 * The re-link push over OneSignal's REST API, through the official SDK. The SDK builds the
 * request (route, `Authorization: Key ...`, serialisation); the transport is ours, so that every
 * call has a timeout and the answer's status and `Retry-After` reach the classification in
 * core/relink-push.ts even when the SDK cannot parse the body.
 */
import {
  createConfiguration,
  DefaultApi,
  Notification,
  type RequestContext,
  ResponseContext,
  ServerConfiguration,
  wrapHttpLibrary,
} from '@onesignal/node-onesignal';
import type { RelinkRequest } from '../../core/model';
import { type Clock, systemClock } from '../../core/ports';
import {
  buildRelinkPush,
  classifyPushAnswer,
  DEFAULT_RETRY_AFTER_MS,
  type PushOutcome,
  type PushSender,
  type RelinkPushSettings,
} from '../../core/relink-push';

/** OneSignal's API root; the SDK appends `/notifications`. */
export const ONESIGNAL_API_URL = 'https://api.onesignal.com';

export interface OneSignalPushOptions extends RelinkPushSettings {
  /** The app's REST API key, or a function that yields it (read from Secrets Manager once). */
  apiKey: string | (() => Promise<string>);
  /** @default ONESIGNAL_API_URL; the local stack points it at its stub. */
  baseUrl?: string;
  /** Abort a request that has not answered by then. @default 10000 */
  timeoutMs?: number;
  clock?: Clock;
  /** Called when OneSignal rejected the key, so a cached copy can be read again next time. */
  onKeyRejected?: () => void;
}

/** What one HTTP exchange gave, whatever the SDK made of the body. */
interface Exchange {
  status: number;
  headers: Record<string, string>;
}

/** Sends re-link pushes with `@onesignal/node-onesignal` and classifies OneSignal's answers. */
export class OneSignalPush implements PushSender {
  private readonly server: ServerConfiguration<Record<string, string>>;
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: OneSignalPushOptions) {
    this.server = new ServerConfiguration(
      (options.baseUrl ?? ONESIGNAL_API_URL).replace(/\/+$/, ''),
      {},
    );
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  async sendRelink(request: RelinkRequest): Promise<PushOutcome> {
    const restApiKey =
      typeof this.options.apiKey === 'string' ? this.options.apiKey : await this.options.apiKey();
    let exchange: Exchange | undefined;
    // One configuration per call: the transport records this call's status and headers only.
    const api = new DefaultApi(
      createConfiguration({
        restApiKey,
        baseServer: this.server,
        httpApi: wrapHttpLibrary({
          send: async (context: RequestContext) => {
            const response = await this.transport(context);
            exchange = { status: response.httpStatusCode, headers: response.headers };
            return response;
          },
        }),
      }),
    );
    const push = Object.assign(new Notification(), buildRelinkPush(request, this.options));
    let outcome: PushOutcome;
    try {
      const body = await api.createNotification(push);
      outcome = classifyPushAnswer(
        { status: exchange?.status ?? 200, body, retryAfter: exchange?.headers['retry-after'] },
        this.clock.now(),
      );
    } catch (error) {
      if (exchange === undefined) {
        // No answer at all (refused, reset, timed out): the idempotency key makes a retry safe.
        return { kind: 'retry', retryAfterMs: DEFAULT_RETRY_AFTER_MS, reason: 'network' };
      }
      outcome = classifyPushAnswer(
        {
          status: exchange.status,
          body: errorBody(error),
          retryAfter: exchange.headers['retry-after'],
        },
        this.clock.now(),
      );
    }
    if (outcome.kind === 'permanent' && outcome.reason === 'api_key_rejected') {
      this.options.onKeyRejected?.();
    }
    return outcome;
  }

  /** fetch with a timeout; the body is read here so a slow body also counts against it. */
  private async transport(context: RequestContext): Promise<ResponseContext> {
    const response = await fetch(context.getUrl(), {
      method: context.getHttpMethod(),
      headers: context.getHeaders(),
      body: context.getBody() as string | undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return new ResponseContext(response.status, headers, {
      text: async () => text,
      binary: async () => Buffer.from(text, 'utf8'),
    });
  }
}

/** The parsed body the SDK attached to its ApiException, if any. */
function errorBody(error: unknown): { errors?: unknown } | undefined {
  const body = (error as { body?: unknown } | undefined)?.body;
  return typeof body === 'object' && body !== null ? (body as { errors?: unknown }) : undefined;
}
