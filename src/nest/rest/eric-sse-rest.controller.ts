import {
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChannelContainer } from '../../servers/channel-container.js';
import { ERIC_SSE_BACKEND } from '../backend-token.js';
import type { EricSseBackend } from '../create-backend.js';
import type { ResolvedEricSseRestOptions } from '../eric-sse-module-options.js';
import { EricSseStreams } from '../streaming/eric-sse-streams.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency-header.js';
import { installRestBodyGate, markRestRoutes } from './rest-body-gate.js';
import { RestExceptionFilter } from './rest-exception.filter.js';
import {
  RestOperations,
  type RestAck,
  type RestCreated,
  type RestIds,
  type RestPublishRequest,
} from './rest-operations.js';
import { requestBodyOf } from './rest-request-body.js';

/**
 * A controller class serving the REST endpoints at `rest.path`, guarded by `rest.guards`. Made per
 * module, as the path, guards and body limit differ between modules.
 */
export function createRestController(rest: ResolvedEricSseRestOptions): Type {
  const { bodyLimit } = rest;

  @Controller(rest.path)
  @UseFilters(RestExceptionFilter)
  class EricSseRestController implements OnModuleInit {
    private readonly operations: RestOperations;

    constructor(
      container: ChannelContainer,
      @Inject(ERIC_SSE_BACKEND) backend: EricSseBackend,
      private readonly streams: EricSseStreams,
      private readonly adapterHost: HttpAdapterHost,
    ) {
      this.operations = new RestOperations(
        container,
        (settings) => backend.createChannel('sse', settings),
        backend.callDeadlineMilliseconds,
      );
    }

    onModuleInit(): void {
      installRestBodyGate(this.adapterHost.httpAdapter, EricSseRestController, bodyLimit);
    }

    @Post('channels')
    async createChannel(@Req() req: IncomingMessage): Promise<RestCreated> {
      const body = await requestBodyOf(req, bodyLimit);
      return this.operations.bounded('create a channel', () => this.operations.createChannel(body));
    }

    @Get('channels')
    listChannels(): Promise<RestIds> {
      return this.operations.bounded('list the channels', () => this.operations.channelIds());
    }

    @Delete('channels/:channelId')
    @HttpCode(HttpStatus.NO_CONTENT)
    removeChannel(@Param('channelId') channelId: string): Promise<void> {
      return this.operations.bounded(`remove channel ${channelId}`, () => this.operations.removeChannel(channelId));
    }

    @Get('channels/:channelId/listeners')
    listListeners(@Param('channelId') channelId: string): Promise<RestIds> {
      return this.operations.bounded(`list the listeners of channel ${channelId}`, () =>
        this.operations.listenerIds(channelId),
      );
    }

    @Post('channels/:channelId/listeners')
    subscribe(@Param('channelId') channelId: string): Promise<RestCreated> {
      return this.operations.bounded(`add a listener to channel ${channelId}`, () =>
        this.operations.subscribe(channelId),
      );
    }

    @Post('channels/:channelId/broadcast')
    @HttpCode(HttpStatus.ACCEPTED)
    async broadcast(
      @Param('channelId') channelId: string,
      @Req() req: IncomingMessage,
      @Res({ passthrough: true }) res: ServerResponse,
    ): Promise<RestAck> {
      const body = await requestBodyOf(req, bodyLimit);
      return this.operations.bounded(`broadcast on channel ${channelId}`, () =>
        this.operations.broadcast(channelId, body, this.publishRequest(req, res)),
      );
    }

    @Post('channels/:channelId/listeners/:listenerId/messages')
    @HttpCode(HttpStatus.ACCEPTED)
    async dispatch(
      @Param('channelId') channelId: string,
      @Param('listenerId') listenerId: string,
      @Req() req: IncomingMessage,
      @Res({ passthrough: true }) res: ServerResponse,
    ): Promise<RestAck> {
      const body = await requestBodyOf(req, bodyLimit);
      return this.operations.bounded(`dispatch to listener ${listenerId} of channel ${channelId}`, () =>
        this.operations.dispatch(channelId, listenerId, body, this.publishRequest(req, res)),
      );
    }

    /** The request's `Idempotency-Key`, and the answer marked `Idempotent-Replayed: true` on a replay. */
    private publishRequest(req: IncomingMessage, res: ServerResponse): RestPublishRequest {
      return {
        idempotencyKey: req.headersDistinct[IDEMPOTENCY_KEY_HEADER],
        onReplay: () => this.adapterHost.httpAdapter.setHeader(res, IDEMPOTENT_REPLAYED_HEADER, 'true'),
      };
    }

    @Delete('channels/:channelId/listeners/:listenerId')
    @HttpCode(HttpStatus.NO_CONTENT)
    removeListener(@Param('channelId') channelId: string, @Param('listenerId') listenerId: string): Promise<void> {
      return this.operations.bounded(`remove listener ${listenerId} of channel ${channelId}`, () =>
        this.operations.removeListener(channelId, listenerId),
      );
    }

    @Get('channels/:channelId/listeners/:listenerId/stream')
    stream(
      @Param('channelId') channelId: string,
      @Param('listenerId') listenerId: string,
      @Req() req: IncomingMessage,
      @Res() res: ServerResponse,
    ): void | Promise<void> {
      return this.streams.pipe(req, res, channelId, listenerId);
    }

    @Get('channels/:channelId/watch')
    watch(
      @Param('channelId') channelId: string,
      @Req() req: IncomingMessage,
      @Res() res: ServerResponse,
    ): Promise<void> {
      return this.streams.pipeWatch(req, res, channelId);
    }
  }

  if (rest.guards.length > 0) UseGuards(...rest.guards)(EricSseRestController);
  markRestRoutes(EricSseRestController);
  return EricSseRestController;
}
