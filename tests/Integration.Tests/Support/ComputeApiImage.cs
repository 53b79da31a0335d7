using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;

namespace CloudApp.Integration.Tests.Support;

/// <summary>
/// The ComputeApi image, built from this checkout the way a user ships it: the AppHost's own pipeline builds it with
/// the .NET SDK's container support and pushes it to the registry (<c>aspire do push</c>), and the tests pull it
/// back from there and run what they pulled.
/// </summary>
public sealed class ComputeApiImage : IAsyncLifetime
{
    private readonly string _tag = $"test-{Guid.NewGuid():N}";

    /// <summary>The reference the image was pushed as and pulled back by.</summary>
    public string Reference => $"{Repository.Registry}/{Repository.Images.ComputeApi.Image}:{_tag}";

    public IImage Image => new DockerImage(Reference);

    /// <summary>
    /// The image in a container of its own (named computeapi-<paramref name="name"/>-..., its HTTP port on a random
    /// host port, <paramref name="configure"/> adding settings), started once /health answers.
    /// </summary>
    public async Task<ComputeApiContainer> StartAsync(string name, Func<ContainerBuilder, ContainerBuilder> configure,
        CancellationToken cancellationToken)
    {
        var port = Repository.Images.Dotnet.HttpPort;
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

    public async Task InitializeAsync()
    {
        var push = await ExternalProgram.RunAsync("dotnet",
            [RepositoryRoot.BuildOutput("AppHost"), "--operation", "publish", "--step", "push",
             $"--ComputeApi:Registry={Repository.Registry}", $"--Images:ComputeApi={Repository.Images.ComputeApi.Image}:{_tag}"],
            TimeSpan.FromMinutes(10));
        // The AppHost logs a failed pipeline step but may still exit 0: the pull below is the proof.
        var pull = await ExternalProgram.RunAsync("docker", ["pull", Reference], TimeSpan.FromMinutes(2));
        if (push.ExitCode != 0 || pull.ExitCode != 0)
        {
            throw new InvalidOperationException($"pushing and pulling {Reference} failed:\n{push}\n{pull}");
        }
    }

    public async Task DisposeAsync()
    {
        await ExternalProgram.RunAsync("docker", ["image", "rm", Reference], TimeSpan.FromMinutes(1));
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

[CollectionDefinition(Name)]
public sealed class ContainersCollection : ICollectionFixture<ComputeApiImage>
{
    public const string Name = "containers";
}
