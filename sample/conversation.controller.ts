import { Controller, HttpCode, Post } from '@nestjs/common';
import { Conversation } from './conversation.js';
import type { ConversationStep } from './transcript.js';

@Controller('conversation')
export class ConversationController {
  constructor(private readonly conversation: Conversation) {}

  /**
   * Holds the Alice/Bob conversation; answers with its steps once it is over. 409 while one is going
   * on, or when Alice or Bob has been removed from the channel.
   */
  @Post()
  @HttpCode(200)
  async hold(): Promise<{ steps: ConversationStep[] }> {
    return { steps: await this.conversation.hold() };
  }
}
