using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace CloudApp.AppHost;

/// <summary>
/// The images the stack runs. Defaults are the pinned references of the image records (<see cref="ImageRecords"/>,
/// <c>deploy/images.json</c>); configuration (<c>Images:Prometheus</c>, <c>Images:Alertmanager</c>,
/// <c>Images:NodeExporter</c>, <c>Images:Grafana</c>, <c>Images:ComputeApi</c>, e.g. the environment variable
/// <c>Images__Prometheus</c>) replaces one with a mirror or a locally built image for this machine's runs; what a
/// publish writes names the pins (<see cref="Pins"/>). <c>ConfigReloader</c> (the sidecar that reloads Alertmanager
/// when its ConfigMap changes) and <c>KubeStateMetrics</c> run in Kubernetes only. <c>ComputeApi</c> is the
/// repository and tag the ComputeApi image is pushed as (below the container registry).
/// </summary>
public sealed record ContainerImages(
    ImageReference Prometheus, ImageReference Alertmanager, ImageReference NodeExporter, ImageReference Grafana, ImageReference ComputeApi,
    ImageReference ConfigReloader, ImageReference KubeStateMetrics, ImageRecords Records)
{
    public const string Section = "Images";

    /// <summary>The records every reader of this program uses (<see cref="ImageRecords.Current"/>), with the overrides of <paramref name="configuration"/>.</summary>
    public static ContainerImages From(IConfiguration configuration) => From(configuration, ImageRecords.Current);

    public static ContainerImages From(IConfiguration configuration, ImageRecords records)
    {
        var section = configuration.GetSection(Section);
        ImageReference Read(string key) =>
            section[key] is { Length: > 0 } configured ? ImageReference.Parse(configured) : records[JsonNamingPolicy.CamelCase.ConvertName(key)].Reference;
        return new(Read(nameof(Prometheus)), Read(nameof(Alertmanager)), Read(nameof(NodeExporter)), Read(nameof(Grafana)), Read(nameof(ComputeApi)),
            Read(nameof(ConfigReloader)), Read(nameof(KubeStateMetrics)), records);
    }

    /// <summary>The pinned references, whatever the configuration says: what a publish names.</summary>
    public ContainerImages Pins => From(new ConfigurationBuilder().Build(), Records);
}

/// <summary>
/// The image records of <c>deploy/images.json</c>, one per image, the one home of each image's facts: its pinned
/// reference, the port it listens on, the user it runs as, the folders it uses, and the local stand-in
/// <c>eng/images/build.sh</c> builds where no registry answers. The shell reads the same file through
/// <c>eng/image-fact.sh</c>. <see cref="FileVariable"/> names another file for both (a test pins other versions
/// in a copy).
/// </summary>
public sealed class ImageRecords
{
    /// <summary>The environment variable that names another images file, for the scripts and the AppHost alike.</summary>
    public const string FileVariable = "CLOUDAPP_IMAGES_FILE";

    /// <summary>Where the records live, relative to the repository root.</summary>
    public static readonly string DefaultFile = Path.Combine("deploy", "images.json");

    private static readonly Lazy<ImageRecords> s_current = new(() => Load(FileIn(FindRoot())));

    private readonly JsonElement _images;

    private ImageRecords(string file, JsonElement images) => (File, _images) = (file, images);

    /// <summary>The file the records were read from.</summary>
    public string File { get; }

    /// <summary>
    /// The records of the repository this program runs from (the first folder above it holding <see cref="DefaultFile"/>),
    /// or of <see cref="FileVariable"/>: where the facts of an image kind (ports, paths) are read without a builder.
    /// </summary>
    public static ImageRecords Current => s_current.Value;

    /// <summary>The records' file: <see cref="FileVariable"/> when set, else <see cref="DefaultFile"/> below <paramref name="repositoryRoot"/>.</summary>
    private static string FileIn(string repositoryRoot) =>
        Environment.GetEnvironmentVariable(FileVariable) is { Length: > 0 } file ? Path.GetFullPath(file) : Path.Combine(repositoryRoot, DefaultFile);

    private static ImageRecords Load(string file)
    {
        using var document = JsonDocument.Parse(System.IO.File.ReadAllText(file));
        return new(file, document.RootElement.GetProperty("images").Clone());
    }

    public IEnumerable<string> Keys => _images.EnumerateObject().Select(p => p.Name);

    public ImageRecord this[string key] => _images.TryGetProperty(key, out var record)
        ? new ImageRecord(File, key, record)
        : throw new InvalidOperationException($"{File} has no image '{key}'.");

    public ImageRecord Prometheus => this["prometheus"];

    public ImageRecord Alertmanager => this["alertmanager"];

    public ImageRecord NodeExporter => this["nodeExporter"];

    public ImageRecord Grafana => this["grafana"];

    public ImageRecord ComputeApi => this["computeApi"];

    public ImageRecord ConfigReloader => this["configReloader"];

    public ImageRecord KubeStateMetrics => this["kubeStateMetrics"];

    /// <summary>Microsoft's .NET base image: the port and user the ComputeApi image inherits.</summary>
    public ImageRecord RuntimeDeps => this["runtimeDeps"];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, DefaultFile))) return dir.FullName;
        }
        throw new InvalidOperationException($"No {DefaultFile} above {AppContext.BaseDirectory}; set {FileVariable}.");
    }
}

/// <summary>One image's record; a fact the record lacks is an error naming the file and the field.</summary>
public sealed class ImageRecord(string file, string key, JsonElement record)
{
    public string Key => key;

    /// <summary>The pinned reference.</summary>
    public ImageReference Reference => ImageReference.Parse(Get("reference").GetString()!);

    /// <summary>The port the image listens on.</summary>
    public int Port => Get("port").GetInt32();

    /// <summary>The non-root user (uid, and gid) the image runs as.</summary>
    public long User => Get("user").GetInt64();

    /// <summary>A folder the image uses: <c>config</c>, <c>data</c>, ...</summary>
    public string Path(string name) => Get("paths", name).GetString()!;

    private JsonElement Get(params string[] path)
    {
        var value = record;
        foreach (var name in path)
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(name, out value))
            {
                throw new InvalidOperationException($"{file} has no images.{key}.{string.Join('.', path)}.");
            }
        }
        return value;
    }
}

/// <summary>An image reference split the way Aspire wants it: registry, repository and tag.</summary>
public sealed record ImageReference(string? Registry, string Image, string Tag)
{
    public static ImageReference Parse(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        string? registry = null;
        var rest = reference;
        // The first segment is a registry when it looks like a host (has a dot or a port, or is localhost).
        if (slash > 0 && (reference[..slash].Contains('.', StringComparison.Ordinal) || reference[..slash].Contains(':', StringComparison.Ordinal) || reference[..slash] == "localhost"))
        {
            registry = reference[..slash];
            rest = reference[(slash + 1)..];
        }
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || colon == rest.Length - 1)
        {
            throw new FormatException($"Image reference '{reference}' needs an explicit tag (never an implied 'latest').");
        }
        var tag = rest[(colon + 1)..];
        if (tag == "latest")
        {
            throw new FormatException($"Image reference '{reference}' uses 'latest'; pin a version.");
        }
        return new(registry, rest[..colon], tag);
    }

    /// <summary>The repository without its last segment (<c>cloudapp</c> of <c>cloudapp/computeapi</c>), or null.</summary>
    public string? Namespace => Image.LastIndexOf('/') is var slash and > 0 ? Image[..slash] : null;

    /// <summary>The last segment of the repository (<c>computeapi</c> of <c>cloudapp/computeapi</c>).</summary>
    public string Name => Image[(Image.LastIndexOf('/') + 1)..];

    public override string ToString() => Registry is null ? $"{Image}:{Tag}" : $"{Registry}/{Image}:{Tag}";
}
