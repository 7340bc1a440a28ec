package fortress.proxy.route;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;

/**
 * A stub for any unary method whose answer the proxy passes on without reading it: the request
 * goes out as its message, the answer comes back as the bytes the node sent.
 */
public final class RawStub extends AbstractStub<RawStub> {
  RawStub(Channel channel, CallOptions options) {
    super(channel, options);
  }

  @Override
  protected RawStub build(Channel channel, CallOptions options) {
    return new RawStub(channel, options);
  }

  public <Q> void call(MethodDescriptor<Q, byte[]> method, Q request, StreamObserver<byte[]> answer) {
    ClientCalls.asyncUnaryCall(getChannel().newCall(method, getCallOptions()), request, answer);
  }
}
