import { BaseRpcContext } from '@nestjs/microservices';
import type { SocketCommand } from '../../servers/socket/socket-command.js';

type EricSocketContextArgs = [command: SocketCommand, pattern: string];

/** What `@Ctx()` gives a `@MessagePattern` / `@EventPattern` handler served over the eric socket. */
export class EricSocketContext extends BaseRpcContext<EricSocketContextArgs> {
  /** The whole command as the client sent it (`pattern`, `data`, and any other keys). */
  getCommand(): SocketCommand {
    return this.args[0];
  }

  /** The pattern as a string (an object pattern as its JSON). */
  getPattern(): string {
    return this.args[1];
  }
}
