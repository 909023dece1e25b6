import { Module } from '@nestjs/common';
import { EricSseModule } from '../src/index.js';
import { Alice } from './alice.js';
import { Bob } from './bob.js';
import { ConversationController } from './conversation.controller.js';
import { Conversation } from './conversation.js';
import { CONVERSATION_CHANNEL, Transcript } from './transcript.js';

@Module({
  imports: [
    EricSseModule.forRoot({
      // In memory; Alice and Bob join the default `eric` channel, created for them.
      channels: [{ id: CONVERSATION_CHANNEL }],
      // The page talks to the module's REST endpoints under /api.
      rest: { path: 'api' },
    }),
  ],
  controllers: [ConversationController],
  providers: [Alice, Bob, Transcript, Conversation],
})
export class AppModule {}
