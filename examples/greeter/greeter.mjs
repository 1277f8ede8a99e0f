// The greeter service of gRPC's own examples (helloworld.Greeter/SayHello), defined from its
// .proto text at run time so the demo needs no code generation. Each backend answers with its
// own name, which is how the client sees where a call went.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package helloworld;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
`;

const root = protobuf.parse(PROTO).root;
const HelloRequest = root.lookupType('helloworld.HelloRequest');
const HelloReply = root.lookupType('helloworld.HelloReply');

const codec = (type) => ({
  serialize: (value) => Buffer.from(type.encode(type.create(value)).finish()),
  deserialize: (bytes) => type.toObject(type.decode(bytes)),
});
const request = codec(HelloRequest);
const reply = codec(HelloReply);

export const GREETER_SERVICE = {
  SayHello: {
    path: '/helloworld.Greeter/SayHello',
    requestStream: false,
    responseStream: false,
    requestSerialize: request.serialize,
    requestDeserialize: request.deserialize,
    responseSerialize: reply.serialize,
    responseDeserialize: reply.deserialize,
  },
};

export const GreeterClient = grpc.makeGenericClientConstructor(GREETER_SERVICE, 'Greeter');

/** A greeter backend on host:port answering `Hello <name> from <backend>`; resolves once bound. */
export function startGreeter(backend, host, port) {
  const server = new grpc.Server();
  server.addService(GREETER_SERVICE, {
    SayHello: (call, callback) => callback(null, { message: `Hello ${call.request.name} from ${backend}` }),
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (err) {
        reject(new Error(`greeter ${backend}: cannot listen on ${host}:${port} (${err.message}); is another demo running?`));
        return;
      }
      resolve({ close: () => new Promise((done) => server.tryShutdown(() => done())) });
    });
  });
}
