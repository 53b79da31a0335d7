using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;

namespace CloudApp.Integration.Tests.Support;

/// <summary>
/// The ComputeApi image, built from this checkout the way a user ships it: the AppHost's own pipeline builds it with
/// the .NET SDK's container support and pushes it to the registry (eng/push-computeapi.sh), and the tests pull it
/// back from there and run what they pulled. ./test.sh pushes it once for every test project
/// (<c>CLOUDAPP_COMPUTEAPI_IMAGE</c>); without that, the first collection to ask pushes it (as <c>:test</c>) for all.
/// </summary>
public sealed class ComputeApiImage : IAsyncLifetime
{
    private const string SharedImageVariable = "CLOUDAPP_COMPUTEAPI_IMAGE";
    private static readonly Lazy<Task<string>> Shared = new(PullOrPushAsync);

    /// <summary>The reference the image was pushed as and pulled back by.</summary>
    public string Reference { get; private set; } = "";

    public IImage Image => new DockerImage(Reference);

    /// <summary>
    /// The image in a container of its own (named computeapi-<paramref name="name"/>-..., its HTTP port on a random
    /// host port, <paramref name="configure"/> adding settings), started once /health answers.
    /// </summary>
    public async Task<ComputeApiContainer> StartAsync(string name, Func<ContainerBuilder, ContainerBuilder> configure,
        CancellationToken cancellationToken)
    {
        var port = Repository.Images.Records.RuntimeDeps.Port;
        var container = configure(new ContainerBuilder(Image)
                .WithName($"computeapi-{name}-{Guid.NewGuid():N}")
                .WithPortBinding(port, assignRandomHostPort: true)
                .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort((ushort)port).ForPath("/health"))))
            .Build();
        try
        {
            await container.StartAsync(cancellationToken);
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }
        return new ComputeApiContainer(container,
            new HttpClient { BaseAddress = new Uri($"http://{container.Hostname}:{container.GetMappedPublicPort(port)}") });
    }

    public async Task InitializeAsync() => Reference = await Shared.Value;

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<string> PullOrPushAsync()
    {
        if (Environment.GetEnvironmentVariable(SharedImageVariable) is { Length: > 0 } shared)
        {
            var pull = await ExternalProgram.RunAsync("docker", ["pull", shared], TimeSpan.FromMinutes(2));
            return pull.ExitCode == 0 ? shared : throw new InvalidOperationException($"pulling {shared} ({SharedImageVariable}) failed:\n{pull}");
        }
        var push = await ExternalProgram.RunAsync("bash", [Path.Combine(RepositoryRoot.Path, "eng", "push-computeapi.sh"), "test"],
            TimeSpan.FromMinutes(10), new Dictionary<string, string?> { ["CLOUDAPP_CONFIGURATION"] = RepositoryRoot.Configuration });
        return push.ExitCode == 0 ? push.Output.Trim() : throw new InvalidOperationException($"pushing the ComputeApi image failed:\n{push}");
    }
}

/// <summary>A running ComputeApi container and a client for its HTTP port; disposing removes the container.</summary>
public sealed class ComputeApiContainer(IContainer container, HttpClient client) : IAsyncDisposable
{
    public IContainer Container { get; } = container;

    public HttpClient Client { get; } = client;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Container.DisposeAsync();
    }
}

/// <summary>
/// Tests that start containers of the image, one at a time: several measure CPU or latency, which a neighbour
/// would distort.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ContainersCollection : ICollectionFixture<ComputeApiImage>
{
    public const string Name = "containers";
}

/// <summary>
/// Tests that mostly wait on Prometheus (scrapes, discovery, alert timers) and measure nothing: they run beside
/// <see cref="ContainersCollection"/>.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ScrapeWaitsCollection : ICollectionFixture<ComputeApiImage>
{
    public const string Name = "scrape waits";
}

/// <summary>A test that waits out an alert's <c>for:</c> and Alertmanager's grouping: it runs beside the others.</summary>
[CollectionDefinition(Name)]
public sealed class AlertWaitsCollection : ICollectionFixture<ComputeApiImage>
{
    public const string Name = "alert waits";
}
