using System.Text;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// Read-only bind mounts of the app model as ConfigMaps: the same files locally and in the cluster. Their names are
/// stable (kustomize adds no content hash) and every one is mounted as a folder, never by subPath: the kubelet then
/// swaps a changed ConfigMap's files in place and the server reloads them (Prometheus by itself, Alertmanager through
/// its reloader sidecar, Grafana's dashboard provider by polling) without a restart, so the TSDB, silences and the
/// notification log stay.
/// </summary>
internal static class ConfigMaps
{
    public sealed record Mounted(V1ConfigMap ConfigMap, string MountPath);

    /// <summary>
    /// Each read-only bind mount becomes ConfigMaps with the same content: a file mount one ConfigMap mounted as the
    /// file's folder (which nothing else may share), a folder one ConfigMap per folder level (ConfigMap keys cannot
    /// hold '/').
    /// </summary>
    public static List<Mounted> Of(IResource resource, string ns, Dictionary<string, string> labels)
    {
        var result = new List<Mounted>();
        var mounts = resource.Annotations.OfType<ContainerMountAnnotation>().ToList();
        foreach (var mount in mounts)
        {
            if (mount.Type != ContainerMountType.BindMount || mount.Source is null)
            {
                throw new InvalidOperationException($"'{resource.Name}' mounts a volume ({mount.Target}); only read-only bind mounts of files are published.");
            }
            if (File.Exists(mount.Source))
            {
                var folder = mount.Target[..mount.Target.LastIndexOf('/')];
                if (Path.GetFileName(mount.Source) != mount.Target[(folder.Length + 1)..])
                {
                    throw new InvalidOperationException($"'{resource.Name}' mounts {mount.Source} as {mount.Target}; a published file keeps its name.");
                }
                if (mounts.FirstOrDefault(m => m != mount && (m.Target + "/").StartsWith(folder + "/", StringComparison.Ordinal)) is { } other)
                {
                    throw new InvalidOperationException($"'{resource.Name}' mounts {other.Target} inside {folder}, the folder {mount.Target} is published as.");
                }
                var stem = Slug(Path.GetFileNameWithoutExtension(mount.Source));
                var name = stem == resource.Name ? $"{resource.Name}-config" : $"{resource.Name}-{stem}";
                result.Add(new(ConfigMap(name, ns, labels, [mount.Source]), folder));
                continue;
            }
            if (!Directory.Exists(mount.Source))
            {
                throw new InvalidOperationException($"'{resource.Name}' mounts {mount.Source}, which does not exist.");
            }
            foreach (var directory in new[] { mount.Source }.Concat(Directory.GetDirectories(mount.Source, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal))
            {
                var filesHere = Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToList();
                if (filesHere.Count == 0) continue;
                var relative = Path.GetRelativePath(mount.Source, directory);
                var suffix = relative == "." ? "" : "-" + Slug(relative);
                var name = $"{resource.Name}-{Slug(Path.GetFileName(mount.Source))}{suffix}";
                var target = relative == "." ? mount.Target : $"{mount.Target}/{relative.Replace(Path.DirectorySeparatorChar, '/')}";
                result.Add(new(ConfigMap(name, ns, labels, filesHere), target));
            }
        }
        return result;
    }

    private static V1ConfigMap ConfigMap(string name, string ns, Dictionary<string, string> labels, IEnumerable<string> files) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Data = files.ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f).ReplaceLineEndings("\n")),
    };

    /// <summary>A name that Kubernetes accepts, made from a file or folder name.</summary>
    public static string Slug(string value)
    {
        var slug = new StringBuilder();
        foreach (var c in value.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        return slug.ToString().Trim('-');
    }
}
