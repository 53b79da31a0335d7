using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;
using DotNet.Testcontainers.Containers;

namespace CloudApp.Integration.Tests;

/// <summary>
/// The published image under a container memory limit, with each native build. A matmul job's matrices live outside
/// the GC heap, where the GC's limit does not reach: the service admits them against the memory the container is
/// charged (the cgroup's working set, which is what the OOM killer acts on) and 75% of the container's limit, so a
/// job too large for the container is answered with a 503 while the process, and every other job, lives on.
/// The limits follow from what the build uses at idle on this machine, as the service itself measures it (first, in
/// a container where a job of order 4096, 128 MiB for C, can never fit, so the refusal reports it), not from one
/// machine's figure: one container leaves 24 MiB beyond it in the
/// budget (order 1024 needs 8 MiB for C and fits, order 2048 needs 32 MiB and does not), the other 64 MiB (order
/// 2048 fits). Each keeps 16 MiB or more beyond what the jobs need for what the process grows by once jobs have run,
/// which differs between machines (heap sizing follows the processor's caches). docs/concepts.md shows such a run by
/// hand.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class MemoryLimitTests(ComputeApiImage image)
{
    private const long MiB = 1048576;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AMatMulJobTooLargeForTheContainerIsRefusedAndTheProcessLivesOn(bool avx512)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var environment = new Dictionary<string, string>();
        if (!avx512) environment["DOTNET_EnableAVX512"] = "0";

        long idleBytes;
        var probeEnvironment = new Dictionary<string, string>(environment) { ["Compute__MatMul__MaxSize"] = "4096" };
        await using (var probe = await StartAsync("memory-probe", 128 * MiB, probeEnvironment, cts.Token))
        {
            using var refusal = await probe.Client.GetAsync("/api/compute/matmul?size=4096", cts.Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refusal.StatusCode);
            idleBytes = (await refusal.Content.ReadFromJsonAsync<JsonElement>(cts.Token)).GetProperty("usedBytes").GetInt64();
        }

        await RunAsync(LimitLeaving(idleBytes, 24 * MiB), refused: true);
        await RunAsync(LimitLeaving(idleBytes, 64 * MiB), refused: false);

        async Task RunAsync(long limitBytes, bool refused)
        {
            var limitMiB = limitBytes / MiB;
            await using var service = await StartAsync($"memory-{limitMiB}", limitBytes, environment, cts.Token);
            var client = service.Client;
            var context = $"{limitMiB} MiB, {idleBytes / (double)MiB:0.0} MiB in use at idle";

            // The service says how it admits working memory: by its cgroup, against 75% of the container's limit.
            var (stdout, _) = await service.Container.GetLogsAsync(ct: cts.Token);
            Assert.Matches($@"measured as cgroup v[12] \(.*\), stays within {limitMiB * 3 / 4} MiB \(75% of {limitMiB} MiB\)", stdout);

            foreach (var size in new[] { 512, 1024 })
            {
                using var fits = await client.GetAsync($"/api/compute/matmul?size={size}", cts.Token);
                Assert.True(fits.StatusCode == HttpStatusCode.OK, $"matmul {size} in {context}: {await fits.Content.ReadAsStringAsync(cts.Token)}");
            }
            using var large = await client.GetAsync("/api/compute/matmul?size=2048", cts.Token);
            Assert.True(large.StatusCode == (refused ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK),
                $"matmul 2048 in {context}: {(int)large.StatusCode} {await large.Content.ReadAsStringAsync(cts.Token)}");
            if (refused)
            {
                var problem = await large.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
                Assert.Equal("application/problem+json", large.Content.Headers.ContentType?.MediaType);
                Assert.NotNull(large.Headers.RetryAfter);
                Assert.Equal(limitBytes * 3 / 4, problem.GetProperty("limitBytes").GetInt64());
                Assert.True(problem.GetProperty("requiredBytes").GetInt64() >= 2048L * 2048 * sizeof(double));
                Assert.InRange(problem.GetProperty("usedBytes").GetInt64(), 1, limitBytes);
            }

            // The same process still serves: nothing was killed, nothing restarted.
            using var health = await client.GetAsync("/health", cts.Token);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal(TestcontainersStates.Running, service.Container.State);
            var refusals = Exposition.Sample(await client.GetStringAsync("/metrics", cts.Token),
                "compute_rejections_total", ("compute_rejection_reason", "insufficient_memory"));
            Assert.Equal(refused ? 1 : 0, double.IsNaN(refusals) ? 0 : refusals);
        }
    }

    /// <summary>A whole number of 4 MiB (so that 75% of it is whole MiB) whose 75% leaves <paramref name="room"/> beyond <paramref name="idle"/>.</summary>
    private static long LimitLeaving(long idle, long room) => (long)Math.Ceiling((idle + room) / 0.75 / (4 * MiB)) * 4 * MiB;

    private Task<ComputeApiContainer> StartAsync(string name, long limitBytes, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken) =>
        image.StartAsync(name, b => b
            .WithEnvironment(environment)
            .WithCreateParameterModifier(create =>
            {
                create.HostConfig ??= new();
                create.HostConfig.Memory = limitBytes;
                create.HostConfig.MemorySwap = limitBytes; // no swap: the limit is the memory
            }), cancellationToken);
}
