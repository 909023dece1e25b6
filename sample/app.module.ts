import { Module } from '@nestjs/common';
import { EricSseModule, type EricSseModuleOptions } from '../src/index.js';
import { Alice } from './alice.js';
import { Bob } from './bob.js';
import { ConversationController } from './conversation.controller.js';
import { Conversation } from './conversation.js';
import { CONVERSATION_CHANNEL, Transcript } from './transcript.js';

/**
 * In memory by default; on Redis when `REDIS_URL` is set, so that several instances (each with its own
 * `PORT` and `SOCKET_PATH`) share channels, listeners and queues.
 */
export function sampleEricSseOptions(env: NodeJS.ProcessEnv = process.env): EricSseModuleOptions {
  return {
    // Alice and Bob join the default `eric` channel, created for them.
    channels: [{ id: CONVERSATION_CHANNEL }],
    // The page talks to the module's REST endpoints under /api.
    rest: { path: 'api' },
    ...(env.REDIS_URL
      ? {
          redis: env.REDIS_URL,
          // Each instance's Alice and Bob get a channel of their own: two Alices on one channel share her
          // queue (each message goes to one of them), which would split a conversation between instances.
          onMessageChannel: `eric-${env.PORT ?? 3000}`,
        }
      : {}),
  };
}

@Module({
  imports: [EricSseModule.forRoot(sampleEricSseOptions())],
  controllers: [ConversationController],
  providers: [Alice, Bob, Transcript, Conversation],
})
export class AppModule {}
