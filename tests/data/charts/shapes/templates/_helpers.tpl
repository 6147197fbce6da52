{{/*
An image map rendered as Bitnami's common.images.image renders it: global.imageRegistry
before the map's registry, and name@digest once a digest is set, else name:tag.
*/}}
{{- define "shapes.image" -}}
{{- $img := .image -}}
{{- $registry := $img.registry | default "" -}}
{{- if and (hasKey $img "registry") .global .global.imageRegistry -}}
{{- $registry = .global.imageRegistry -}}
{{- end -}}
{{- $name := $img.repository | default $img.image -}}
{{- if $registry -}}{{- $name = printf "%s/%s" $registry $name -}}{{- end -}}
{{- $digest := .digest | default $img.digest | default "" -}}
{{- if $digest -}}{{ $name }}@{{ $digest }}{{- else -}}{{ $name }}:{{ $img.tag | toString }}{{- end -}}
{{- end -}}
