package fortress.core.rpc;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A client of a server's reflection service that knows only what the server tells it, as grpcurl
 * is: {@link #services} is {@code grpcurl list}, {@link #details} is how grpcurl prints an
 * error's details: it asks the server for the file that defines each detail's type (and the files
 * that file imports), and prints the detail as JSON with those descriptors alone.
 */
public final class Reflection {
  private static final long DEADLINE_S = 10;

  private Reflection() {}

  /** The services the server announces. */
  public static List<String> services(Channel channel) throws Exception {
    return ask(channel, ServerReflectionRequest.newBuilder().setListServices("").build())
        .getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList();
  }

  /**
   * The message type {@code fullName} as the server's reflection describes it; throws when the
   * server does not know it (grpcurl: "is not recognized").
   */
  public static Descriptor messageType(Channel channel, String fullName) throws Exception {
    ServerReflectionResponse r = ask(channel, ServerReflectionRequest.newBuilder().setFileContainingSymbol(fullName)
        .build());
    if (r.hasErrorResponse()) {
      throw new IllegalStateException(fullName + " is not recognized: " + r.getErrorResponse().getErrorMessage());
    }
    Map<String, FileDescriptorProto> files = new HashMap<>();
    for (ByteString bytes : r.getFileDescriptorResponse().getFileDescriptorProtoList()) {
      FileDescriptorProto file = FileDescriptorProto.parseFrom(bytes);
      files.put(file.getName(), file);
    }
    FileDescriptorProto first = FileDescriptorProto.parseFrom(r.getFileDescriptorResponse()
        .getFileDescriptorProto(0));
    FileDescriptor file = build(channel, first.getName(), files, new HashMap<>());
    String name = fullName.substring(file.getPackage().isEmpty() ? 0 : file.getPackage().length() + 1);
    Descriptor type = file.findMessageTypeByName(name);
    if (type == null) {
      throw new IllegalStateException(fullName + " is not in " + file.getName());
    }
    return type;
  }

  /** Each detail of a refused call as grpcurl prints it: JSON with its {@code @type}. */
  public static List<String> details(Channel channel, StatusRuntimeException e) throws Exception {
    List<String> printed = new ArrayList<>();
    for (Any detail : StatusProto.fromThrowable(e).getDetailsList()) {
      String typeName = detail.getTypeUrl().substring(detail.getTypeUrl().lastIndexOf('/') + 1);
      Descriptor type = messageType(channel, typeName);
      JsonFormat.TypeRegistry registry = JsonFormat.TypeRegistry.newBuilder().add(type).build();
      printed.add(JsonFormat.printer().usingTypeRegistry(registry).print(detail));
    }
    return printed;
  }

  /** {@code name} built from the files the server sent, asking for any import it has not sent yet. */
  private static FileDescriptor build(Channel channel, String name, Map<String, FileDescriptorProto> files,
      Map<String, FileDescriptor> built) throws Exception {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    FileDescriptorProto proto = files.get(name);
    if (proto == null) {
      ServerReflectionResponse r = ask(channel, ServerReflectionRequest.newBuilder().setFileByFilename(name).build());
      if (r.hasErrorResponse()) {
        throw new IllegalStateException("the server does not serve " + name + ": "
            + r.getErrorResponse().getErrorMessage());
      }
      for (ByteString bytes : r.getFileDescriptorResponse().getFileDescriptorProtoList()) {
        FileDescriptorProto file = FileDescriptorProto.parseFrom(bytes);
        files.putIfAbsent(file.getName(), file);
      }
      proto = files.get(name);
    }
    List<FileDescriptor> dependencies = new ArrayList<>();
    for (String dependency : proto.getDependencyList()) {
      dependencies.add(build(channel, dependency, files, built));
    }
    FileDescriptor file;
    try {
      file = FileDescriptor.buildFrom(proto, dependencies.toArray(FileDescriptor[]::new));
    } catch (DescriptorValidationException | IllegalArgumentException bad) {
      throw new InvalidProtocolBufferException("the server's " + name + " does not build: " + bad.getMessage());
    }
    built.put(name, file);
    return file;
  }

  private static ServerReflectionResponse ask(Channel channel, ServerReflectionRequest request) throws Exception {
    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
        .withDeadlineAfter(DEADLINE_S, TimeUnit.SECONDS).serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse r) {
            answer.complete(r);
          }

          @Override
          public void onError(Throwable t) {
            answer.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    requests.onNext(request);
    try {
      return answer.get(DEADLINE_S, TimeUnit.SECONDS);
    } finally {
      requests.onCompleted();
    }
  }
}
