package fortress.core.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetRingRequest;
import fortress.cluster.v1.GetRingResponse;
import io.grpc.BindableService;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class StrictRequestsTest {
  private static final MethodDescriptor<byte[], byte[]> GET_RING_RAW = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(ClusterServiceGrpc.getGetRingMethod().getFullMethodName())
      .setRequestMarshaller(RawBytes.INSTANCE)
      .setResponseMarshaller(RawBytes.INSTANCE)
      .build();

  private static final BindableService SERVICE = new ClusterServiceGrpc.ClusterServiceImplBase() {
    @Override
    public void getRing(GetRingRequest request, StreamObserver<GetRingResponse> out) {
      out.onNext(GetRingResponse.getDefaultInstance());
      out.onCompleted();
    }
  };

  private static Status call(boolean strict, byte[] request) throws Exception {
    String name = UUID.randomUUID().toString();
    InProcessServerBuilder builder = InProcessServerBuilder.forName(name);
    if (strict) {
      builder.addService(StrictRequests.of(SERVICE.bindService()));
    } else {
      builder.addService(SERVICE);
    }
    Server server = builder.build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    try {
      ClientCalls.blockingUnaryCall(channel, GET_RING_RAW, CallOptions.DEFAULT, request);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void bytesThatDoNotParse_areInvalidArgument_notAServerFault() throws Exception {
    byte[] notUtf8 = {0x0A, 0x02, (byte) 0xC3, 0x28};
    byte[] truncated = {0x0A, 0x10, 'a'};
    assertThat(call(false, notUtf8).getCode()).as("grpc-java on its own").isIn(Status.Code.INTERNAL,
        Status.Code.UNKNOWN);
    for (byte[] bad : new byte[][] {notUtf8, truncated}) {
      Status status = call(true, bad);
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).contains("GetRingRequest").doesNotContain("Exception");
    }
    assertThat(call(true, GetRingRequest.newBuilder().setTenantId("acme").build().toByteArray()).isOk()).isTrue();
  }
}
