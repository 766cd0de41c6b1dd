/**
 * Gates that hold one kind of request mid-flight, so crash tests can catch the bot between sending a
 * request and hearing back.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A gate on one kind of request, for tests that must catch the bot mid-request (crash tests):
 * while held, matching requests wait before they are served; `release()` lets them (and all later
 * ones) through. A held request whose client hung up meanwhile is dropped unanswered, as if it
 * never got past Runway's front door: it creates nothing and stores nothing.
 */
export interface SimHold {
  /** Requests waiting at the gate right now. */
  readonly waiting: number;
  /** Requests that have reached the gate since it was set, whether still waiting or released. */
  readonly arrived: number;
  release(): void;
}

export type HoldKind = 'upload' | 'create' | 'output';

/** One gate per kind of request; setting a new one releases the old. */
export class Holds {
  private readonly gates: Record<HoldKind, Gate | null> = { upload: null, create: null, output: null };

  hold(kind: HoldKind): SimHold {
    this.gates[kind]?.release();
    const gate = new Gate();
    this.gates[kind] = gate;
    return gate;
  }

  /** Wait at the gate for `kind`, if one is set; false when the client hung up meanwhile. */
  async pass(kind: HoldKind, req: IncomingMessage): Promise<boolean> {
    const gate = this.gates[kind];
    const passed = gate ? await gate.pass(req.socket) : true;
    return passed && !req.socket.destroyed;
  }

  releaseAll(): void {
    for (const gate of Object.values(this.gates)) gate?.release();
  }
}

class Gate implements SimHold {
  private readonly held = new Set<() => void>();
  private isOpen = false;
  private count = 0;

  get waiting(): number {
    return this.held.size;
  }

  get arrived(): number {
    return this.count;
  }

  /** Resolves true when released, false as soon as the client's connection closes. */
  pass(socket: Socket): Promise<boolean> {
    this.count++;
    if (this.isOpen || socket.destroyed) return Promise.resolve(!socket.destroyed);
    return new Promise((resolve) => {
      const onClose = () => {
        this.held.delete(letThrough);
        resolve(false);
      };
      const letThrough = () => {
        socket.off('close', onClose);
        resolve(true);
      };
      this.held.add(letThrough);
      socket.once('close', onClose);
    });
  }

  release(): void {
    this.isOpen = true;
    const waiting = [...this.held];
    this.held.clear();
    for (const letThrough of waiting) letThrough();
  }
}
