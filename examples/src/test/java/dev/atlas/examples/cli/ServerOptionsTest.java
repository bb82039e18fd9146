package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.runtime.EngineResources;
import dev.atlas.error.AtlasException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.http.AtlasHttpServer;
import dev.atlas.http.ServerOptions;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad server settings are {@link InvalidArgumentException}s (usage errors on the command line); a busy port is an {@link AtlasException}. */
class ServerOptionsTest {
    @TempDir
    Path tmp;

    @Test
    void everyBadSettingIsAnInvalidArgument() {
        ServerOptions.Builder b = ServerOptions.builder();
        assertThrows(InvalidArgumentException.class, () -> b.host(null));
        assertThrows(InvalidArgumentException.class, () -> b.host(" "));
        assertThrows(InvalidArgumentException.class, () -> b.port(-1));
        assertThrows(InvalidArgumentException.class, () -> b.port(65536));
        assertThrows(InvalidArgumentException.class, () -> b.maxElementsPerRequest(0));
        assertThrows(InvalidArgumentException.class, () -> b.maxElementsPerResponse(-1));
        assertThrows(InvalidArgumentException.class, () -> b.maxJsonElements(0));
        assertThrows(InvalidArgumentException.class, () -> b.maxPngPixels(0));
        assertThrows(InvalidArgumentException.class, () -> b.maxDatasetsPerBulk(0));
        assertThrows(InvalidArgumentException.class, () -> b.defaultPageSize(0));
        assertThrows(InvalidArgumentException.class, () -> b.maxPageSize(0));
        assertThrows(InvalidArgumentException.class, () -> b.requestTimeout(Duration.ZERO));
        assertThrows(InvalidArgumentException.class, () -> b.requestTimeout(null));
        assertThrows(InvalidArgumentException.class, () -> b.streamPieceBytes(1024));
        assertThrows(InvalidArgumentException.class, () -> b.pngThreads(0));
        assertThrows(InvalidArgumentException.class, () -> ServerOptions.builder().defaultPageSize(20).maxPageSize(10).build());
        assertEquals(0, b.port(0).build().port(), "a refused setting leaves the builder usable");
    }

    @Test
    void badSettingsOnTheCommandLineAreUsageErrors() {
        Cli.Run serve = Cli.run("serve", "--store", tmp.toString(), "--timeout", "0");
        assertEquals(AtlasCli.EXIT_USAGE, serve.code(), serve.toString());
        Path store = tmp.resolve("demo");
        Cli.Run demo = Cli.run("demo", "--store", store.toString(), "--datasets", "1", "--port", "70000");
        assertEquals(AtlasCli.EXIT_USAGE, demo.code(), demo.toString());
        assertTrue(demo.err().startsWith("atlas: port must be 0..65535"), demo.err());
        assertFalse(Files.exists(store), "refused before any work");
    }

    @Test
    void aBusyPortIsAnAtlasExceptionAndAOneLineRuntimeError() throws Exception {
        EngineResources resources = EngineResources.create();
        Path dir = tmp.resolve("store");
        Atlas atlas = LocalAtlas.create(dir, AtlasOptions.builder(resources).build()).block(TIMEOUT);
        try (ServerSocket busy = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ServerOptions options = ServerOptions.builder().port(busy.getLocalPort()).build();
            AtlasException e = assertThrows(AtlasException.class, () -> AtlasHttpServer.start(atlas, options));
            assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + busy.getLocalPort()), e.getMessage());
            atlas.close().block(TIMEOUT);
            Cli.Run r = Cli.run("serve", "--store", dir.toString(), "--port", Integer.toString(busy.getLocalPort()));
            assertEquals(AtlasCli.EXIT_RUNTIME, r.code(), r.toString());
            assertTrue(r.err().startsWith("atlas: cannot listen on"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        } finally {
            resources.disposeLater().block(TIMEOUT);
        }
    }
}
