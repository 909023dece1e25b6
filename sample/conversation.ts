import { ConflictException, Injectable } from '@nestjs/common';
import { EricSseMessenger } from '../src/index.js';
import { Bob } from './bob.js';
import { Transcript, type ConversationStep } from './transcript.js';

const SPEAKERS = ['Alice', 'Bob'];

/**
 * Holds the conversation of SPEC §2: Bob says `hello`; Alice answers `hello_ack` and `stop`; Bob
 * answers `stop`. So Alice receives `hello, stop` and Bob `hello_ack, stop`, and both listeners stop.
 *
 * (The reference also has Bob send `stop` right after his `hello`: Alice would stop on that one and
 * Bob's answering `stop` would wait in her queue, stopping her at once the next time she starts. Here
 * nothing is left over, so the conversation can be held again.)
 */
@Injectable()
export class Conversation {
  private inProgress = false;

  constructor(
    private readonly messenger: EricSseMessenger,
    private readonly bob: Bob,
    private readonly transcript: Transcript,
  ) {}

  /** Holds the conversation; resolves with its steps once Alice and Bob have both stopped. */
  async hold(): Promise<ConversationStep[]> {
    if (this.inProgress) throw new ConflictException('Alice and Bob are already talking; wait for them to stop');
    const gone = SPEAKERS.filter((id) => !this.messenger.listener(id).getChannel()?.hasListener(id));
    if (gone.length > 0) {
      throw new ConflictException(
        `${gone.join(' and ')} left the channel (removed through the REST API?): restart the sample to bring them back`,
      );
    }
    this.inProgress = true;
    try {
      await this.transcript.started();
      const bothStopped = Promise.all(SPEAKERS.map((id) => this.startAndWaitForStop(id)));
      await this.bob.greetAlice();
      await bothStopped;
      await this.transcript.ended();
      return this.transcript.steps;
    } finally {
      this.inProgress = false;
    }
  }

  /** Starts the speaker's listener (a previous conversation ended with `stop`) and resolves when it stops. */
  private startAndWaitForStop(listenerId: string): Promise<void> {
    const listener = this.messenger.listener(listenerId);
    if (!listener.isRunning()) this.messenger.start(listenerId);
    return new Promise((resolve) => {
      listener.onStop(() => void this.transcript.stopped(listenerId).then(resolve));
    });
  }
}
